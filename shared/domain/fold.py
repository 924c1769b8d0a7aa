"""Fold a batch's new touchpoints into the loaded maps (pure: no I/O).

Journeys are order-dependent: a journey whose new touchpoints all come after what it
has seen is updated in place, or, after the inactivity window, followed by a new
instance; one that received a late touchpoint is listed for a rebuild of all its
instances from the stored touchpoints. Experiences are order-independent and always
updated in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from shared.domain import experience, journey
from shared.domain.experience import ExperienceState
from shared.domain.instances import opens_new_instance
from shared.domain.journey import JourneyState, JourneyStep
from shared.domain.stages import StageCatalogue
from shared.domain.stored import InstanceKey, JourneyKey, instance_key
from shared.domain.touchpoint import Touchpoint


@dataclass(slots=True)
class MapUpdate:
    # Instances changed or opened by the batch (the latest instance of each key last).
    journeys: dict[InstanceKey, JourneyState] = field(default_factory=dict)
    # The steps the batch placed, per instance, to append to the stored ones.
    steps: dict[InstanceKey, list[JourneyStep]] = field(default_factory=dict)
    # Instances that a new instance followed in this batch: they are over.
    followed: set[InstanceKey] = field(default_factory=set)
    experiences: dict[str, ExperienceState] = field(default_factory=dict)
    journeys_to_rebuild: set[JourneyKey] = field(default_factory=set)


def journey_keys(touchpoints: Iterable[Touchpoint]) -> set[JourneyKey]:
    return {(t.customer_id, t.product_id) for t in touchpoints if t.product_id is not None}


def late_journeys(
    touchpoints: Iterable[Touchpoint],
    latest: Mapping[JourneyKey, JourneyState],
    catalogue: StageCatalogue,
) -> set[JourneyKey]:
    """The journeys `fold` will list for a rebuild: their earliest new touchpoint does
    not come after what they have seen (the later ones then all do)."""
    earliest: dict[JourneyKey, Touchpoint] = {}
    for touchpoint in sorted(touchpoints, key=catalogue.order_key, reverse=True):
        if touchpoint.product_id is not None:
            earliest[(touchpoint.customer_id, touchpoint.product_id)] = touchpoint
    return {
        key
        for key, touchpoint in earliest.items()
        if key in latest and not journey.is_next(latest[key], touchpoint, catalogue)
    }


def fold(
    touchpoints: Iterable[Touchpoint],
    latest: Mapping[JourneyKey, JourneyState],
    experiences: Mapping[str, ExperienceState],
    catalogue: StageCatalogue,
    window: timedelta,
) -> MapUpdate:
    """Apply new (never seen before) touchpoints to the loaded states (updated in place).

    `latest` holds the latest instance of each journey the touchpoints belong to.
    """
    update = MapUpdate()
    current: dict[JourneyKey, JourneyState] = dict(latest)
    for touchpoint in sorted(touchpoints, key=catalogue.order_key):
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
        path = current.get(key)
        if path is None:
            path = JourneyState(customer_id=customer, product_id=touchpoint.product_id)
        elif not journey.is_next(path, touchpoint, catalogue):
            update.journeys_to_rebuild.add(key)
            for instance in [k for k in update.journeys if k[:2] == key]:
                del update.journeys[instance]
                update.steps.pop(instance, None)
            update.followed = {k for k in update.followed if k[:2] != key}
            continue
        elif opens_new_instance(path, touchpoint, window):
            update.followed.add(instance_key(path))
            update.journeys.setdefault(instance_key(path), path)
            path = JourneyState(
                customer_id=customer, product_id=touchpoint.product_id, instance=path.instance + 1
            )
        update.steps.setdefault(instance_key(path), []).append(
            journey.apply(path, touchpoint, catalogue)
        )
        current[key] = update.journeys[instance_key(path)] = path
    return update
