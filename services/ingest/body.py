"""Read a request body within the limits: content type, size, gzip, JSON.

The size limit applies to the decompressed body, and decompression stops as soon as
it is exceeded, so a small gzip bomb costs nothing.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from fastapi import Request

from services.ingest.errors import RequestRefused

ACCEPTED_TYPES = ("application/json", "text/plain", "")


def _kb(size: int) -> str:
    return f"{size // 1024} KB"


async def read_body(request: Request, max_bytes: int) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_TYPES:
        raise RequestRefused(
            415,
            "unsupported_media_type",
            f"content type {content_type!r} is not accepted; send application/json "
            "(or text/plain, as navigator.sendBeacon does)",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise _too_large(max_bytes)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("identity", ""):
        return bytes(raw)
    if encoding != "gzip":
        raise RequestRefused(
            415, "unsupported_encoding", f"content encoding {encoding!r}: use gzip or none"
        )
    return _gunzip(bytes(raw), max_bytes)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(data, max_bytes + 1)
    except zlib.error as error:
        raise RequestRefused(400, "invalid_gzip", f"body is not valid gzip: {error}") from error
    if len(body) > max_bytes or inflater.unconsumed_tail:
        raise RequestRefused(
            413,
            "payload_too_large",
            f"decompressed body exceeds {_kb(max_bytes)}; send smaller batches",
        )
    if not inflater.eof:
        raise RequestRefused(400, "invalid_gzip", "gzip body is truncated")
    if inflater.unused_data:
        raise RequestRefused(
            400,
            "invalid_gzip",
            f"{len(inflater.unused_data)} bytes follow the end of the gzip stream; "
            "send one gzip stream and nothing after it",
        )
    return body


def _too_large(max_bytes: int) -> RequestRefused:
    return RequestRefused(
        413, "payload_too_large", f"body exceeds {_kb(max_bytes)}; send smaller batches"
    )


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestRefused(400, "invalid_json", f"body is not valid JSON: {error}") from error
