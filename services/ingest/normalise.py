"""Turn an accepted wire event into the log's normalised event (server time applied)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.schemas.log_event import LogEvent
from shared.schemas.native import TouchpointIn


class EventRejected(ValueError):
    """The event is well-formed but unacceptable; the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
    max_future_skew: timedelta,
    field: str = "timestamp",
) -> datetime:
    """The corrected event time, refused when absurdly far in the future."""
    try:
        occurred_at = corrected_time(timestamp, sent_at, received_at)
    except OverflowError as error:
        raise EventRejected(
            field, "and sent_at are too far apart to correct; check the client clock"
        ) from error
    if occurred_at - received_at > max_future_skew:
        raise EventRejected(
            field,
            f"is {occurred_at - received_at} ahead of the server clock "
            f"(at most {max_future_skew} is accepted); check the client clock or sent_at",
        )
    # Stored and counted in UTC, whatever offset the client used.
    return occurred_at.astimezone(UTC)


def normalise(
    event: TouchpointIn,
    *,
    received_at: datetime,
    source: str,
    max_future_skew: timedelta,
) -> LogEvent:
    occurred_at = checked_time(event.timestamp, event.sent_at, received_at, max_future_skew)
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
