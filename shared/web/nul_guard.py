"""Refuse a NUL character in a request's path or query (PostgreSQL text cannot hold it).

Checked once for every route, before routing, so no query can fail on it later.
Raw NUL bytes never pass the HTTP parser; a percent-encoded one (%00) would.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.web.problems import problem_body, problem_response

NUL = "\x00"
MESSAGE = "contains a NUL character (%00), which cannot be stored or looked up; remove it"


def nul_field(path: str, query: bytes) -> str | None:
    """Which part of the request holds a NUL: "path", "query.NAME", or None."""
    if NUL in path:
        return "path"
    if b"%00" not in query:
        return None
    for name, value in parse_qsl(query.decode("ascii", "replace"), keep_blank_values=True):
        if NUL in name or NUL in value:
            return f"query.{name.replace(NUL, '%00')}"
    return None


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = nul_field(scope["path"], scope["query_string"]) if scope["type"] == "http" else None
        if where is None:
            await self.app(scope, receive, send)
            return
        body = problem_body(
            422,
            "invalid_request",
            f"{where}: {MESSAGE}",
            errors=[{"field": where, "message": MESSAGE}],
        )
        await problem_response(body)(scope, receive, send)
