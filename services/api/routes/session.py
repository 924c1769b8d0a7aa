"""The console's session: sign in with an API key, see who is signed in, sign out.

The key is kept in an HttpOnly, SameSite=Strict cookie (see shared/web/auth.py), never
in a URL or in the page's storage. Signing in and out are changes like any other:
they need the console's header, so another site cannot sign a browser in or out.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from services.api.context import ApiContext
from shared.web.auth import (
    BEARER_SCHEME,
    SESSION_COOKIE,
    Principal,
    check_same_site,
    request_principal,
)
from shared.web.problems import declared

LOOK, ACT = "read", "alerts"


class SignIn(BaseModel):
    key: str = Field(min_length=1, max_length=500, description="A read key or the alerts key")


class Session(BaseModel):
    signed_in: bool
    key_name: str | None = None
    can_look: bool = Field(default=False, description="The key reads the maps (scope read).")
    can_act: bool = Field(
        default=False, description="The key acknowledges and resolves alerts (scope alerts)."
    )
    reason: str | None = Field(default=None, description="Why the browser is not signed in.")


def _session(principal: Principal) -> Session:
    return Session(
        signed_in=True,
        key_name=principal.key_name,
        can_look=LOOK in principal.scopes,
        can_act=ACT in principal.scopes,
    )


def session_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1/session", tags=["console"])

    @router.post(
        "",
        response_model=Session,
        summary="Sign the browser in: the key goes into an HttpOnly cookie",
        responses=declared(401, 403, why={401: "Unknown or revoked key", 403: "Cannot look"}),
    )
    async def sign_in(request: Request, response: Response, body: SignIn) -> Session:
        check_same_site(request)
        principal = await ctx.keys.authenticate(body.key.strip())
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or revoked API key: `journeymap up` prints its keys, "
                "and `journeymap keys list` names the managed ones",
            )
        if LOOK not in principal.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"the key {principal.key_name!r} only sends events; "
                "sign in with a read key, or the alerts key to act on alerts",
            )
        response.set_cookie(
            SESSION_COOKIE,
            body.key.strip(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return _session(principal)

    @router.get(
        "",
        response_model=Session,
        summary="Whether this browser (or Bearer key) is signed in, and as whom",
    )
    async def who(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)],
    ) -> Session:
        # Not being signed in is this answer's normal content, not an error.
        token = credentials.credentials.strip() if credentials else None
        if not token and not request.cookies.get(SESSION_COOKIE):
            return Session(signed_in=False)
        try:
            return _session(await request_principal(ctx.keys, request, token))
        except HTTPException as refused:
            return Session(signed_in=False, reason=str(refused.detail))

    @router.delete("", status_code=204, summary="Sign the browser out")
    async def sign_out(request: Request) -> Response:
        check_same_site(request)
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", path="/")
        return response

    return router
