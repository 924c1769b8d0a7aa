"""Decode step: log records to touchpoints, separating out the poison ones.

A record that cannot be decoded or validated is poison: it is set aside with its
reason for the dead-letter place, and the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from shared.domain.touchpoint import Touchpoint
from shared.log.interface import LogRecord
from shared.schemas.common import NUL_ESCAPE
from shared.schemas.log_event import LogEvent


@dataclass(frozen=True, slots=True)
class Poison:
    record: LogRecord
    reason: str


@dataclass(slots=True)
class Decoded:
    # In log order, each with the record it came from.
    items: list[tuple[LogRecord, Touchpoint]] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)

    @property
    def touchpoints(self) -> list[Touchpoint]:
        return [touchpoint for _, touchpoint in self.items]


def to_touchpoint(event: LogEvent) -> Touchpoint:
    return Touchpoint(
        event_id=event.event_id,
        customer_id=event.identity,
        type=event.type,
        channel=event.channel,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        product_id=event.product_id,
        anonymous_id=event.anonymous_id,
        identified=event.customer_id is not None,
        source=event.source,
        sentiment=event.sentiment,
        nps=event.nps,
        csat=event.csat,
        revenue=event.revenue,
        properties=event.properties,
    )


def describe(error: ValidationError) -> str:
    """A one-line reason naming each bad field."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "record"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def decode(records: Sequence[LogRecord]) -> Decoded:
    decoded = Decoded()
    for record in records:
        if record.value is None:
            decoded.poison.append(Poison(record, "record has no value"))
            continue
        if NUL_ESCAPE in record.value:
            decoded.poison.append(Poison(record, "contains a NUL character (\\u0000)"))
            continue
        try:
            event = LogEvent.model_validate_json(record.value)
        except ValidationError as error:
            decoded.poison.append(Poison(record, describe(error)))
            continue
        decoded.items.append((record, to_touchpoint(event)))
    return decoded
