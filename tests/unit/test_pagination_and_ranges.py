"""Keyset pages over computed lists, and the whole days behind a time range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fastapi import HTTPException

from shared.web.cursor import encode_cursor, keyset_page
from shared.web.timerange import day_bounds


def test_pages_cover_every_item_once_in_order() -> None:
    items = [(n % 3, f"k{n}") for n in range(23)]
    seen: list[tuple[int, str]] = []
    cursor = None
    while True:
        page, cursor = keyset_page(items, lambda i: (-i[0], i[1]), cursor, 5)
        seen += page
        if cursor is None:
            break
    assert seen == sorted(items, key=lambda i: (-i[0], i[1]))


def test_a_page_boundary_holds_when_earlier_items_change() -> None:
    first, cursor = keyset_page(["a", "b", "c", "d"], lambda i: (i,), None, 2)
    rest, _ = keyset_page(["0", "b", "c", "d"], lambda i: (i,), cursor, 2)
    assert first == ["a", "b"]
    assert rest == ["c", "d"]


@pytest.mark.parametrize("cursor", ["not base64 json!", encode_cursor(1), encode_cursor("x", 2)])
def test_a_foreign_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(HTTPException) as refused:
        keyset_page([(1, "a")], lambda i: i, cursor, 5)
    assert refused.value.status_code == 422


def test_day_bounds_round_outward_to_whole_utc_days() -> None:
    plus_five = timezone(timedelta(hours=5))
    since = datetime(2026, 11, 2, 3, 0, tzinfo=plus_five)  # 1 Nov 22:00 UTC
    assert day_bounds(since, datetime(2026, 11, 5, tzinfo=UTC)) == (
        date(2026, 11, 1),
        date(2026, 11, 5),
    )
    assert day_bounds(None, datetime(2026, 11, 5, 0, 1, tzinfo=UTC)) == (
        date.min,
        date(2026, 11, 6),
    )
    assert day_bounds(since, None)[1] == date.max
