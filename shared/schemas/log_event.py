"""The event as it travels through the event log (PostgreSQL table or Kafka topic)."""

from __future__ import annotations

import orjson
from pydantic import AwareDatetime, ConfigDict

from shared.schemas.common import Channel, EventType, Identifier, TouchpointFields

LOG_EVENT_VERSION = 1


class LogEvent(TouchpointFields):
    """A normalised, validated touchpoint: ingest writes it, the aggregator reads it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int = LOG_EVENT_VERSION
    event_id: Identifier
    type: EventType
    channel: Channel
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    source: str = ""

    @property
    def identity(self) -> str:
        """The identity the event is filed under until identities are linked."""
        return self.customer_id or self.anonymous_id or ""

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))
