"""`from` and `to` query parameters: ISO 8601 with a timezone, in order."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import HTTPException, status


def check_range(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"'{name}' needs a timezone, e.g. 2026-11-23T10:00:00Z",
            )
    if since is not None and until is not None and since >= until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'from' must be before 'to'")


def day_bounds(since: datetime | None, until: datetime | None) -> tuple[date, date]:
    """The whole UTC days covering [since, until), for figures kept per day.

    Unbounded ends become the first and last representable days.
    """
    first = date.min if since is None else since.astimezone(UTC).date()
    if until is None:
        return first, date.max
    end = until.astimezone(UTC)
    last = end.date()
    return first, last if end.timetz() == time(tzinfo=UTC) else last + timedelta(days=1)
