"""Cheap polling: strong ETags from data versions, and 304 without recomputing.

An ETag is a hash of what the answer depends on (the request's path and query, and
the version counters of the data behind it), so it can be checked before the answer
is computed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.responses import JSONResponse


def etag_for(request: Request, *versions: object) -> str:
    basis = "|".join([request.url.path, str(request.query_params), *map(str, versions)])
    return '"' + hashlib.sha256(basis.encode()).hexdigest()[:32] + '"'


def _headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-cache"}


def not_modified(request: Request, etag: str) -> Response | None:
    """A 304 when the client already has this version, else None."""
    sent = request.headers.get("if-none-match")
    if sent is None:
        return None
    if sent.strip() == "*" or etag in {tag.strip() for tag in sent.split(",")}:
        return Response(status_code=304, headers=_headers(etag))
    return None


def tagged(body: Any, etag: str) -> JSONResponse:
    return JSONResponse(body, headers=_headers(etag))


def tagged_by_content(request: Request, body: Any) -> Response:
    """For answers with no version counter behind them: the ETag hashes the body, so
    an unchanged poll still costs the query but sends nothing."""
    etag = etag_for(request, orjson.dumps(body).decode())
    return not_modified(request, etag) or tagged(body, etag)
