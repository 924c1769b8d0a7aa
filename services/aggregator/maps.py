"""Fold a batch's new touchpoints into the loaded maps (pure: no I/O).

Journeys are order-dependent: a journey whose new touchpoints all come after what it
has seen is updated in place; one that received a late touchpoint is listed for a
rebuild from all of its stored touchpoints. Experiences are order-independent and
always updated in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.domain import experience, journey
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint

JourneyKey = tuple[str, str]


@dataclass(slots=True)
class MapUpdate:
    journeys: dict[JourneyKey, JourneyState] = field(default_factory=dict)
    experiences: dict[str, ExperienceState] = field(default_factory=dict)
    journeys_to_rebuild: set[JourneyKey] = field(default_factory=set)


def journey_keys(touchpoints: Iterable[Touchpoint]) -> set[JourneyKey]:
    return {(t.customer_id, t.product_id) for t in touchpoints if t.product_id is not None}


def fold(
    touchpoints: Iterable[Touchpoint],
    journeys: Mapping[JourneyKey, JourneyState],
    experiences: Mapping[str, ExperienceState],
    catalogue: StageCatalogue,
) -> MapUpdate:
    """Apply new (never seen before) touchpoints to the loaded states."""
    update = MapUpdate()
    for touchpoint in sorted(touchpoints, key=lambda t: t.sort_key):
        customer = touchpoint.customer_id
        state = update.experiences.get(customer) or experiences.get(customer)
        if state is None:
            state = ExperienceState(customer_id=customer)
        update.experiences[customer] = experience.apply(state, touchpoint, catalogue)

        if touchpoint.product_id is None:
            continue
        key = (customer, touchpoint.product_id)
        if key in update.journeys_to_rebuild:
            continue
        path = update.journeys.get(key) or journeys.get(key)
        if path is None:
            path = JourneyState(customer_id=customer, product_id=touchpoint.product_id)
        if journey.is_next(path, touchpoint):
            update.journeys[key] = journey.apply(path, touchpoint, catalogue)
        else:
            update.journeys.pop(key, None)
            update.journeys_to_rebuild.add(key)
    return update
