"""CORS preflights for the ingest doors, so browsers can send directly.

A preflight carries no key, so it is answered for any origin that some write key
allows; the request itself is then checked against its own key's origins. Only the
ingest paths answer preflights: the read API is not for browsers of other origins.
"""

from collections.abc import Iterable

from fastapi import APIRouter, Request, Response

from services.ingest.context import IngestContext

MAX_AGE_SECONDS = "600"


def cors_router(ctx: IngestContext, paths: Iterable[str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def preflight(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is None:
            return Response(status_code=204)
        allowed = await ctx.keys.browser_origins()
        if "*" not in allowed and origin not in allowed:
            return Response(status_code=403, content=b"origin not allowed")
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
                "Access-Control-Max-Age": MAX_AGE_SECONDS,
                "Vary": "Origin",
            },
        )

    for path in paths:
        router.add_api_route(path, preflight, methods=["OPTIONS"])
    return router
