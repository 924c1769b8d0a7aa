"""Validate a request's events one by one, so each bad event is named by its index."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from services.ingest.models import FieldError, RejectedEvent
from services.ingest.normalise import EventRejected, normalise
from shared.schemas.log_event import LogEvent
from shared.schemas.native import TouchpointIn


@dataclass(slots=True)
class Validated:
    events: list[LogEvent] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)


def field_errors(error: ValidationError) -> list[FieldError]:
    return [
        FieldError(
            field=".".join(str(part) for part in item["loc"]) or "event",
            message=item["msg"],
        )
        for item in error.errors(include_url=False, include_input=False)
    ]


def _claimed_id(item: Any) -> str | None:
    event_id = item.get("event_id") if isinstance(item, dict) else None
    return event_id if isinstance(event_id, str) else None


def validate_events(
    items: list[Any], *, received_at: datetime, source: str, max_future_skew: timedelta
) -> Validated:
    result = Validated()
    for index, item in enumerate(items):
        try:
            wire = TouchpointIn.model_validate(item)
            event = normalise(
                wire, received_at=received_at, source=source, max_future_skew=max_future_skew
            )
        except ValidationError as error:
            result.rejected.append(
                RejectedEvent(index=index, event_id=_claimed_id(item), errors=field_errors(error))
            )
        except EventRejected as rejected:
            result.rejected.append(
                RejectedEvent(
                    index=index,
                    event_id=_claimed_id(item),
                    errors=[FieldError(field=rejected.field, message=rejected.message)],
                )
            )
        else:
            result.events.append(event)
    return result
