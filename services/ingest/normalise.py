"""Turn an accepted wire event into the log's normalised event (server time applied)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.durations import human_duration
from shared.schemas.log_event import LogEvent
from shared.schemas.native import TouchpointIn


class EventRejected(ValueError):
    """The event is well-formed but unacceptable; the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """The event times ingest accepts: none before `earliest`, none too far ahead."""

    earliest: datetime
    max_future_skew: timedelta


def type_name(value: object) -> str:
    """A JSON value's kind, as a client would call it."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else type(value).__name__


def corrected_time(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Event time on the server's clock: the client's clock skew is `received - sent`."""
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp.astimezone(UTC)
    return (timestamp + (received_at - sent_at)).astimezone(UTC)


def checked_time(
    timestamp: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    bounds: TimeBounds,
    field: str = "timestamp",
) -> datetime:
    """The corrected event time, refused when absurdly far in the past or the future.

    The bounds are checked here because everything downstream (windows, timers, the
    watermark) does arithmetic on event times: what passes here must never fail later.
    """
    try:
        occurred_at = corrected_time(timestamp, sent_at, received_at)
    except OverflowError as error:
        raise EventRejected(
            field, "and sent_at are too far apart to correct; check the client clock"
        ) from error
    if occurred_at < bounds.earliest:
        raise EventRejected(
            field,
            f"is {occurred_at.isoformat()}, before {bounds.earliest.isoformat()}, the earliest "
            "event time accepted; check the client clock or sent_at",
        )
    if occurred_at - received_at > bounds.max_future_skew:
        ahead = occurred_at - received_at
        raise EventRejected(
            field,
            f"is {human_duration(ahead)} ahead of the server clock (at most "
            f"{human_duration(bounds.max_future_skew)} is accepted); check the client clock "
            "or sent_at",
        )
    # Stored and counted in UTC, whatever offset the client used.
    return occurred_at.astimezone(UTC)


def normalise(
    event: TouchpointIn,
    *,
    received_at: datetime,
    source: str,
    time_bounds: TimeBounds,
) -> LogEvent:
    occurred_at = checked_time(event.timestamp, event.sent_at, received_at, time_bounds)
    return LogEvent(
        event_id=event.event_id or str(uuid.uuid4()),
        customer_id=event.customer_id,
        anonymous_id=event.anonymous_id,
        type=event.type,
        channel=event.channel,
        product_id=event.product_id,
        occurred_at=occurred_at,
        received_at=received_at,
        source=source,
        sentiment=event.sentiment,
        nps=event.nps,
        csat=event.csat,
        revenue=event.revenue,
        properties=event.properties,
    )
