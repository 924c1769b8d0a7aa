"""The event as it travels through the event log (PostgreSQL table or Kafka topic)."""

from __future__ import annotations

from typing import Any, Self

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.schemas.common import (
    Channel,
    CsatScore,
    EventType,
    Identifier,
    NpsScore,
    Revenue,
    Sentiment,
)

LOG_EVENT_VERSION = 1


class LogEvent(BaseModel):
    """A normalised, validated touchpoint: ingest writes it, the aggregator reads it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int = LOG_EVENT_VERSION
    event_id: Identifier
    customer_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    type: EventType
    channel: Channel
    product_id: Identifier | None = None
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    source: str = ""
    sentiment: Sentiment | None = None
    nps: NpsScore | None = None
    csat: CsatScore | None = None
    revenue: Revenue | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_identity(self) -> Self:
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("event has neither customer_id nor anonymous_id")
        return self

    @property
    def identity(self) -> str:
        """The identity the event is filed under until identities are linked."""
        return self.customer_id or self.anonymous_id or ""

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))
