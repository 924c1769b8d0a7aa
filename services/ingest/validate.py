"""Validate a request's items one by one, so each bad one is named by its index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from services.ingest.models import FieldError, RejectedEvent
from services.ingest.normalise import EventRejected
from services.ingest.rejections import Rejection
from shared.schemas.common import NUL_ESCAPE
from shared.schemas.log_event import LogEvent

Convert = Callable[[Any], LogEvent]

NUL_MESSAGE = "contains a NUL character (\\u0000), which cannot be stored; remove it"


@dataclass(slots=True)
class Validated:
    events: list[LogEvent] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)
    kept: list[Rejection] = field(default_factory=list)  # for the dead-letter store


def field_errors(error: ValidationError) -> list[FieldError]:
    return [
        FieldError(
            field=".".join(str(part) for part in item["loc"]) or "event",
            message=item["msg"],
        )
        for item in error.errors(include_url=False, include_input=False)
    ]


def _claimed_id(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    for name in ("event_id", "messageId", "interaction_id", "response_id"):
        if isinstance(item.get(name), str):
            return str(item[name])
    return None


def validate_items(items: list[Any], convert: Convert, *, max_event_bytes: int) -> Validated:
    result = Validated()
    for index, item in enumerate(items):
        raw = orjson.dumps(item)
        try:
            if len(raw) > max_event_bytes:
                raise EventRejected(
                    "event",
                    f"is {len(raw) // 1024} KB; at most {max_event_bytes // 1024} KB per event",
                )
            if NUL_ESCAPE in raw:
                raise EventRejected("event", NUL_MESSAGE)
            event = convert(item)
        except ValidationError as error:
            errors = field_errors(error)
        except EventRejected as rejected:
            errors = [FieldError(field=rejected.field, message=rejected.message)]
        else:
            result.events.append(event)
            continue
        claimed = _claimed_id(item)
        result.rejected.append(RejectedEvent(index=index, event_id=claimed, errors=errors))
        reason = "; ".join(f"{e.field}: {e.message}" for e in errors)
        result.kept.append(Rejection(index, claimed, reason, raw))
    return result
