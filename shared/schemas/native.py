"""The native ingest schema: one touchpoint as a website or support system sends it."""

from __future__ import annotations

from typing import Any, Self

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


class TouchpointIn(BaseModel):
    """A touchpoint event. Give `customer_id`, `anonymous_id` or both."""

    model_config = ConfigDict(extra="forbid")

    event_id: Identifier | None = Field(
        default=None, description="Idempotency key; the server generates one when absent."
    )
    customer_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    type: EventType = Field(description="Touchpoint type, e.g. `product_view`, `purchase`.")
    channel: Channel = "unknown"
    product_id: Identifier | None = None
    timestamp: AwareDatetime | None = Field(
        default=None, description="When it happened, by the client's clock (server time if absent)."
    )
    sent_at: AwareDatetime | None = Field(
        default=None,
        description="When the client sent it, by the same clock; used to correct clock skew.",
    )
    sentiment: Sentiment | None = None
    nps: NpsScore | None = None
    csat: CsatScore | None = None
    revenue: Revenue | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_identity(self) -> Self:
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("give customer_id or anonymous_id")
        return self
