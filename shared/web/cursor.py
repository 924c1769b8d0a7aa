"""Opaque cursors for keyset pagination: the sort key of the last item returned."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from fastapi import HTTPException, status


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "cursor is not one this API returned; start again without it",
        ) from error
    if not isinstance(values, list) or len(values) != arity:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "cursor is not one this API returned; start again without it",
        )
    return values
