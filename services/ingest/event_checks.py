"""What an event must satisfy beyond its schema before ingest acknowledges it.

Each check stands for something that would otherwise fail after the 202: an id the
read API cannot put in a URL, or a document too deeply nested to encode or store.
"""

from __future__ import annotations

from typing import Any

from services.ingest.normalise import EventRejected
from shared.schemas.log_event import LogEvent

UNADDRESSABLE = {".", ".."}


def check_addressable(event: LogEvent) -> None:
    """Ids the maps are filed under must fit in one URL path segment."""
    for field in ("customer_id", "anonymous_id", "product_id"):
        value = getattr(event, field)
        if value is None:
            continue
        if "/" in value or value in UNADDRESSABLE:
            raise EventRejected(
                field,
                f"{value!r} cannot be read back: an id may not contain '/' or be '.' or '..'",
            )


def check_depth(value: Any, max_depth: int, path: str) -> None:
    """Refuse JSON nested deeper than `max_depth` objects and lists, naming where.

    The field named is the outermost one under `path` that holds the deep part.
    """
    pending: list[tuple[Any, int, str]] = [(value, 1, path)]
    while pending:
        current, depth, where = pending.pop()
        if depth > max_depth:
            raise EventRejected(
                where, f"is nested deeper than {max_depth} levels of objects and lists"
            )
        children = (
            current.items()
            if isinstance(current, dict)
            else enumerate(current)
            if isinstance(current, list)
            else ()
        )
        for key, child in children:
            if isinstance(child, dict | list):
                pending.append((child, depth + 1, f"{where}.{key}" if depth <= 2 else where))
