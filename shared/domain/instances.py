"""Journey instances: a customer's journeys with one product, split by inactivity.

A journey that saw no touchpoint for the inactivity window is over: abandoned if it
had not converted, finished if it had. The customer's next touchpoint for that
product opens a new instance. Splitting depends only on event times, so instances,
like journeys, are a pure function of the set of events.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from shared.domain import journey
from shared.domain.journey import JourneyPath, JourneyState
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint


def opens_new_instance(state: JourneyState, touchpoint: Touchpoint, window: timedelta) -> bool:
    """True when `touchpoint` (which comes after all of `state`) starts the next journey."""
    return (
        state.last_event_at is not None and touchpoint.occurred_at - state.last_event_at >= window
    )


def build_instances(
    customer_id: str,
    product_id: str,
    touchpoints: Iterable[Touchpoint],
    catalogue: StageCatalogue,
    window: timedelta,
) -> list[JourneyPath]:
    """Every instance of one customer's journeys with one product, oldest first, with
    their steps."""
    groups: list[list[Touchpoint]] = []
    for touchpoint in journey.distinct_in_order(touchpoints, catalogue):
        if groups and touchpoint.occurred_at - groups[-1][-1].occurred_at < window:
            groups[-1].append(touchpoint)
        else:
            groups.append([touchpoint])
    return [
        journey.walk(customer_id, product_id, group, catalogue, instance=number)
        for number, group in enumerate(groups)
    ]


def abandoned(
    state: JourneyState, *, followed: bool, watermark: datetime | None, window: timedelta
) -> bool:
    """An unconverted journey is abandoned once a later one began, or once event time
    (the watermark) passed its last touchpoint by the inactivity window."""
    if state.converted or state.last_event_at is None:
        return False
    if followed:
        return True
    return watermark is not None and watermark >= state.last_event_at + window
