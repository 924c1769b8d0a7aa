"""Where Segment clients put the write key: HTTP Basic user, Bearer, or `writeKey` in the body."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shared.web.auth import bearer_token


def basic_user(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _ = decoded.partition(":")
    return user or None


def write_key(authorization: str | None, payload: Any) -> str | None:
    key = basic_user(authorization) or bearer_token(authorization)
    if key is None and isinstance(payload, dict) and isinstance(payload.get("writeKey"), str):
        key = payload["writeKey"]
    return key
