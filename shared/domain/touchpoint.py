"""The touchpoint: one normalised event, as the domain sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

# Moments of the experience map are ordered by event time, then by id. Touchpoints of a
# journey are ordered by StageCatalogue.order_key, which puts stages between the two.
SortKey = tuple[datetime, str]

# Sentiment is summed in millionths, so that sums stay exact under add and subtract and
# do not depend on the order they were added in.
SENTIMENT_SCALE = 1_000_000


def sentiment_micros(sentiment: float) -> int:
    return round(sentiment * SENTIMENT_SCALE)


@dataclass(frozen=True, slots=True)
class Touchpoint:
    event_id: str
    # The identity the maps are keyed on: the customer id, or the anonymous id
    # while the visitor is not yet identified.
    customer_id: str
    type: str
    channel: str
    occurred_at: datetime
    received_at: datetime
    product_id: str | None = None
    anonymous_id: str | None = None
    # The event named the customer itself (not resolved from an anonymous id).
    identified: bool = False
    source: str = ""
    sentiment: float | None = None
    nps: int | None = None
    csat: int | None = None
    revenue: Decimal | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
