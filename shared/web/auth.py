"""API keys and their scopes: `write` (ingest), `read` (maps), `alerts` (alert actions)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, status
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


def require_scope(keys: KeyStore, scope: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting only keys with `scope`."""

    async def dependency(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)],
    ) -> Principal:
        token = credentials.credentials.strip() if credentials else None
        if not token:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing API key: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = await keys.authenticate(token)
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="unknown or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if scope not in principal.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this API key lacks the '{scope}' scope",
            )
        return principal

    return dependency
