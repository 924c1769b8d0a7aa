"""The native ingest schema: one touchpoint as a website or support system sends it."""

from __future__ import annotations

from pydantic import AwareDatetime, ConfigDict, Field

from shared.schemas.common import Channel, EventTime, EventType, Identifier, TouchpointFields


class TouchpointIn(TouchpointFields):
    """A touchpoint event. Give `customer_id`, `anonymous_id` or both."""

    model_config = ConfigDict(extra="forbid")

    event_id: Identifier | None = Field(
        default=None, description="Idempotency key; the server generates one when absent."
    )
    type: EventType = Field(description="Touchpoint type, e.g. `product_view`, `purchase`.")
    channel: Channel = "unknown"
    timestamp: EventTime = None
    sent_at: AwareDatetime | None = Field(
        default=None,
        description="When the client sent it, by the same clock; used to correct clock skew.",
    )
