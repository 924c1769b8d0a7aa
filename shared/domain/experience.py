"""The customer experience map: one customer, every touchpoint, all products and channels.

Every figure here is order-independent (counts, exact sums, the latest score by event
time), so `apply` never needs a rebuild for a late touchpoint and the map is a pure
function of the set of events. The state is a summary of bounded size: the sentiment
curve and the support timeline are read from the stored touchpoints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import SENTIMENT_SCALE, SortKey, Touchpoint, sentiment_micros


class NpsCategory(StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


def nps_category(score: int) -> NpsCategory:
    if score >= 9:
        return NpsCategory.PROMOTER
    if score >= 7:
        return NpsCategory.PASSIVE
    return NpsCategory.DETRACTOR


@dataclass(slots=True)
class Moment:
    """A touchpoint worth remembering on the experience map: the latest NPS answer."""

    occurred_at: datetime
    event_id: str
    type: str
    channel: str
    product_id: str | None
    value: float | None = None

    @property
    def sort_key(self) -> SortKey:
        return (self.occurred_at, self.event_id)


@dataclass(slots=True)
class ExperienceState:
    customer_id: str
    touchpoint_count: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    sentiment_micros: int = 0
    sentiment_count: int = 0
    nps: Moment | None = None
    nps_responses: int = 0
    csat_total: int = 0
    csat_responses: int = 0
    support_contacts: int = 0
    error_touchpoints: int = 0
    revenue: Decimal = Decimal(0)
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def nps_category(self) -> NpsCategory | None:
        if self.nps is None or self.nps.value is None:
            return None
        return nps_category(int(self.nps.value))

    @property
    def average_csat(self) -> float | None:
        return self.csat_total / self.csat_responses if self.csat_responses else None

    @property
    def average_sentiment(self) -> float | None:
        if not self.sentiment_count:
            return None
        return self.sentiment_micros / SENTIMENT_SCALE / self.sentiment_count


def _moment(touchpoint: Touchpoint, value: float | None = None) -> Moment:
    return Moment(
        occurred_at=touchpoint.occurred_at,
        event_id=touchpoint.event_id,
        type=touchpoint.type,
        channel=touchpoint.channel,
        product_id=touchpoint.product_id,
        value=value,
    )


def _count(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def apply(
    state: ExperienceState, touchpoint: Touchpoint, catalogue: StageCatalogue
) -> ExperienceState:
    """Fold one new touchpoint (in any order) into the state, updated in place."""
    at = touchpoint.occurred_at
    state.touchpoint_count += 1
    _count(state.channels, touchpoint.channel)
    if touchpoint.product_id is not None:
        _count(state.products, touchpoint.product_id)
    if touchpoint.sentiment is not None:
        state.sentiment_micros += sentiment_micros(touchpoint.sentiment)
        state.sentiment_count += 1
    if touchpoint.nps is not None:
        state.nps_responses += 1
        latest = _moment(touchpoint, float(touchpoint.nps))
        if state.nps is None or latest.sort_key > state.nps.sort_key:
            state.nps = latest
    if touchpoint.csat is not None:
        state.csat_total += touchpoint.csat
        state.csat_responses += 1
    if catalogue.is_support_contact(touchpoint.type):
        state.support_contacts += 1
    if catalogue.is_error(touchpoint.type):
        state.error_touchpoints += 1
    if touchpoint.revenue is not None:
        state.revenue += touchpoint.revenue
    state.first_seen = at if state.first_seen is None else min(state.first_seen, at)
    state.last_seen = at if state.last_seen is None else max(state.last_seen, at)
    return state


def build(
    customer_id: str, touchpoints: Iterable[Touchpoint], catalogue: StageCatalogue
) -> ExperienceState:
    """The experience of a set of touchpoints; duplicates (same event id) count once."""
    state = ExperienceState(customer_id=customer_id)
    for touchpoint in {touchpoint.event_id: touchpoint for touchpoint in touchpoints}.values():
        apply(state, touchpoint, catalogue)
    return state
