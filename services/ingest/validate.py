"""Validate a request's items one by one, so each bad one is named by its index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from services.ingest.event_checks import check_addressable, check_depth
from services.ingest.models import RejectedEvent
from services.ingest.normalise import EventRejected
from services.ingest.rejections import Rejection
from shared.log.interface import LogEntry
from shared.schemas.common import NUL_ESCAPE
from shared.schemas.log_event import LogEvent
from shared.web.problems import FieldError, field_errors

Convert = Callable[[Any], LogEvent]

NUL_MESSAGE = "contains a NUL character (\\u0000), which cannot be stored; remove it"


@dataclass(frozen=True, slots=True)
class ItemLimits:
    max_event_bytes: int
    max_depth: int


@dataclass(slots=True)
class Validated:
    events: list[LogEvent] = field(default_factory=list)
    entries: list[LogEntry] = field(default_factory=list)  # the events, encoded for the log
    rejected: list[RejectedEvent] = field(default_factory=list)
    kept: list[Rejection] = field(default_factory=list)  # for the dead-letter store


def _claimed_id(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    for name in ("event_id", "messageId", "interaction_id", "response_id"):
        if isinstance(item.get(name), str):
            return str(item[name])
    return None


def _checked(item: Any, convert: Convert, limits: ItemLimits) -> tuple[LogEvent, LogEntry]:
    """The item as an event and its log entry; raises what makes it unacceptable."""
    # Depth first: orjson cannot encode what is nested too deeply (it raises).
    for name, value in item.items() if isinstance(item, dict) else [("event", item)]:
        check_depth(value, limits.max_depth, str(name))
    raw = orjson.dumps(item)
    if len(raw) > limits.max_event_bytes:
        raise EventRejected(
            "event",
            f"is {len(raw) // 1024} KB; at most {limits.max_event_bytes // 1024} KB per event",
        )
    if NUL_ESCAPE in raw:
        raise EventRejected("event", NUL_MESSAGE)
    event = convert(item)
    check_addressable(event)
    # A Segment batch's context joins every event's properties: check what is logged.
    check_depth(event.properties, limits.max_depth, "properties")
    return event, LogEntry(key=event.identity.encode(), value=event.to_bytes())


def validate_items(items: list[Any], convert: Convert, limits: ItemLimits) -> Validated:
    result = Validated()
    for index, item in enumerate(items):
        try:
            event, entry = _checked(item, convert, limits)
        except ValidationError as error:
            errors = field_errors(error.errors(include_url=False, include_input=False), "event")
        except EventRejected as rejected:
            errors = [FieldError(field=rejected.field, message=rejected.message)]
        else:
            result.events.append(event)
            result.entries.append(entry)
            continue
        claimed = _claimed_id(item)
        result.rejected.append(RejectedEvent(index=index, event_id=claimed, errors=errors))
        reason = "; ".join(f"{e.field}: {e.message}" for e in errors)
        result.kept.append(Rejection(index, claimed, reason, _payload(item)))
    return result


def _payload(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:  # nested too deeply to encode
        return b'"(nested too deeply to keep)"'
