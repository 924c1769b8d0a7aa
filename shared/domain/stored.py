"""Map states as a unit of work reads and writes them: with their row versions.

A save succeeds only from the version that was read, so two writers of one customer
cannot lose each other's update (see services/aggregator/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState
from shared.domain.journey_stats import FunnelFacts

JourneyKey = tuple[str, str]  # customer, product
InstanceKey = tuple[str, str, int]  # customer, product, instance


def instance_key(state: JourneyState) -> InstanceKey:
    return (state.customer_id, state.product_id, state.instance)


@dataclass(frozen=True, slots=True)
class StoredJourney:
    state: JourneyState
    version: int
    abandoned_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredExperience:
    state: ExperienceState
    version: int


@dataclass(frozen=True, slots=True)
class JourneyRow:
    """A journey instance to save, with what the funnel reads from it."""

    state: JourneyState
    abandoned_at: datetime | None
    facts: FunnelFacts


@dataclass(frozen=True, slots=True)
class Timeout:
    """The latest journey of a customer and product is abandoned when its partition's
    event time passes `due_at` (its last touchpoint plus the inactivity window)."""

    customer_id: str
    product_id: str
    instance: int
    partition: int
    due_at: datetime
