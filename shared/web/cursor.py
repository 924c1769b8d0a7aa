"""Opaque cursors for keyset pagination: the sort key of the last item returned."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson
from fastapi import HTTPException, status

T = TypeVar("T")


def _foreign_cursor() -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "cursor is not one this API returned; start again without it",
    )


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int | None = None) -> list[Any]:
    """The values in a cursor; 422 unless it is a list (of `arity` values, if given)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise _foreign_cursor() from error
    if not isinstance(values, list) or (arity is not None and len(values) != arity):
        raise _foreign_cursor()
    return values


def keyset_page(
    items: Iterable[T], key: Callable[[T], tuple[Any, ...]], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """One page of an in-memory list in `key` order, and the cursor for the next one.

    For lists computed whole (like ranked figures): the cursor holds the last key
    returned, so a page boundary stays put while other items move.
    """
    ordered = sorted(items, key=key)
    if cursor is not None:
        after = tuple(decode_cursor(cursor))
        if ordered and len(after) != len(key(ordered[0])):
            raise _foreign_cursor()
        try:
            ordered = [item for item in ordered if key(item) > after]
        except TypeError as error:
            raise _foreign_cursor() from error
    page = ordered[:limit]
    return page, encode_cursor(*key(page[-1])) if len(ordered) > limit else None
