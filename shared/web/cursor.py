"""Opaque cursors for keyset pagination: the sort key of the last item returned.

A cursor comes back from the client, so it is input like any other: each value is
checked against the type its position must have, and anything else is a 422.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar, overload

import orjson

from shared.web.problems import BIGINT_MAX, ApiProblem

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


def _foreign_cursor() -> ApiProblem:
    return ApiProblem(
        422, "invalid_cursor", "cursor is not one this API returned; start again without it"
    )


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def cursor_values(cursor: str) -> list[Any]:
    """The values in a cursor, unchecked; 422 unless it is a list."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise _foreign_cursor() from error
    if not isinstance(values, list):
        raise _foreign_cursor()
    return values


def cursor_text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError(value)
    return value


def cursor_int(value: Any) -> int:
    if type(value) is not int or not -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
        raise ValueError(value)
    return value


def cursor_time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(cursor_text(value))
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed


@overload
def decode_cursor(cursor: str, first: Callable[[Any], A], /) -> tuple[A]: ...


@overload
def decode_cursor(
    cursor: str, first: Callable[[Any], A], second: Callable[[Any], B], /
) -> tuple[A, B]: ...


@overload
def decode_cursor(
    cursor: str, first: Callable[[Any], A], second: Callable[[Any], B], third: Callable[[Any], C], /
) -> tuple[A, B, C]: ...


def decode_cursor(cursor: str, *parsers: Callable[[Any], Any]) -> tuple[Any, ...]:
    """The cursor's values, each checked by its parser; 422 for any other cursor."""
    values = cursor_values(cursor)
    if len(values) != len(parsers):
        raise _foreign_cursor()
    try:
        return tuple(parse(value) for parse, value in zip(parsers, values, strict=True))
    except ValueError as error:
        raise _foreign_cursor() from error


def keyset_page(
    items: Iterable[T], key: Callable[[T], tuple[Any, ...]], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """One page of an in-memory list in `key` order, and the cursor for the next one.

    For lists computed whole (like ranked figures): the cursor holds the last key
    returned, so a page boundary stays put while other items move.
    """
    ordered = sorted(items, key=key)
    if cursor is not None:
        after = tuple(cursor_values(cursor))
        if ordered and len(after) != len(key(ordered[0])):
            raise _foreign_cursor()
        try:
            ordered = [item for item in ordered if key(item) > after]
        except TypeError as error:
            raise _foreign_cursor() from error
    page = ordered[:limit]
    return page, encode_cursor(*key(page[-1])) if len(ordered) > limit else None
