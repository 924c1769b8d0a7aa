"""API keys and their scopes: `write` (ingest), `read` (maps), `alerts` (alert actions).

A key comes as a Bearer token, or, from the console, in the session cookie that
signing in set. The cookie is HttpOnly and SameSite=Strict, so scripts cannot read it
and other sites' requests do not carry it; on top of that, a request that changes
state with the cookie must carry CONSOLE_HEADER (which a cross-site form cannot send,
and a cross-site script cannot without a CORS preflight this service never grants)
and, when the browser names its Origin, come from this host.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.web.openapi import BEARER


@dataclass(frozen=True, slots=True)
class Principal:
    key_name: str
    scopes: frozenset[str]
    # Browser origins allowed to send with this key ("*" for any); empty: none.
    allowed_origins: frozenset[str] = frozenset()
    # Token-bucket limit for this key; None: the service default.
    rate_per_second: float | None = None
    burst: int | None = None


class KeyStore(Protocol):
    async def authenticate(self, token: str) -> Principal | None:
        """The principal a key belongs to, or None for an unknown or revoked key."""
        ...

    async def browser_origins(self) -> frozenset[str]:
        """Every origin some write key allows (CORS preflights carry no key)."""
        ...


class StaticKeyStore:
    """Keys given in configuration, compared in constant time."""

    def __init__(self, keys: Mapping[str, Principal]) -> None:
        self._keys = dict(keys)

    async def authenticate(self, token: str) -> Principal | None:
        for key, principal in self._keys.items():
            if hmac.compare_digest(key.encode(), token.encode()):
                return principal
        return None

    async def browser_origins(self) -> frozenset[str]:
        return frozenset().union(
            *(p.allowed_origins for p in self._keys.values() if "write" in p.scopes)
        )


class ChainedKeyStore:
    """Ask each store in turn (configured keys first, then the database)."""

    def __init__(self, *stores: KeyStore) -> None:
        self._stores = stores

    async def authenticate(self, token: str) -> Principal | None:
        for store in self._stores:
            principal = await store.authenticate(token)
            if principal is not None:
                return principal
        return None

    async def browser_origins(self) -> frozenset[str]:
        return frozenset().union(*[await store.browser_origins() for store in self._stores])


def bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# Declares the Bearer key in the OpenAPI schema; a missing key is answered below.
BEARER_SCHEME = HTTPBearer(scheme_name=BEARER, auto_error=False)


SESSION_COOKIE = "journeymap_key"
CONSOLE_HEADER = "X-Journeymap-Console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_same_site(request: Request) -> None:
    """Refuse a state change made with the session cookie from anywhere but the console."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get(CONSOLE_HEADER) != "1":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"a change made with the console's session needs the {CONSOLE_HEADER} "
            "header; scripts send 'Authorization: Bearer <key>' instead",
        )
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if origin is not None and origin.partition("://")[2] != host:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"cross-site request from {origin} refused"
        )


async def request_principal(keys: KeyStore, request: Request, token: str | None) -> Principal:
    """The principal of the Bearer key, else of the session cookie; 401 for neither."""
    from_cookie = not token
    if from_cookie:
        token = request.cookies.get(SESSION_COOKIE, "").strip()
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if from_cookie:
        check_same_site(request)
    principal = await keys.authenticate(token)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="the key this browser signed in with is unknown or revoked; sign in again"
            if from_cookie
            else "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require_scope(keys: KeyStore, scope: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting only keys with `scope`."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)],
    ) -> Principal:
        token = credentials.credentials.strip() if credentials else None
        principal = await request_principal(keys, request, token)
        if scope not in principal.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this API key lacks the '{scope}' scope",
            )
        return principal

    return dependency
