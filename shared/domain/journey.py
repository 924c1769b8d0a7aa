"""The customer journey map: one customer, one product, a linear path through stages.

A journey is a reducer over touchpoints in event-time order. `apply` folds one
touchpoint into the state; `build` folds a whole set, so the map is a pure function
of the set of events. Callers use `is_next` to decide whether a new touchpoint can be
applied incrementally or the journey must be rebuilt because the touchpoint is late.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.domain.stages import OrderKey, StageCatalogue
from shared.domain.touchpoint import Touchpoint


@dataclass(slots=True)
class StageTransition:
    from_stage: str | None
    to_stage: str
    at: datetime
    event_id: str


@dataclass(slots=True)
class JourneyStep:
    """A touchpoint as placed on the journey."""

    event_id: str
    # The effective type: a purchase after conversion is recorded as a repeat purchase.
    type: str
    channel: str
    occurred_at: datetime
    # The journey's stage once this touchpoint is applied (None before the journey starts).
    stage: str | None
    revisit: bool = False
    sentiment: float | None = None


@dataclass(slots=True)
class JourneyState:
    customer_id: str
    product_id: str
    # Journeys of one customer and product are numbered from 0 (see `instances`).
    instance: int = 0
    stage: str | None = None
    started_at: datetime | None = None
    stage_entered_at: datetime | None = None
    converted_at: datetime | None = None
    last_event_at: datetime | None = None
    last_key: OrderKey | None = None
    transitions: list[StageTransition] = field(default_factory=list)
    # Time spent in each stage that has been left; see `time_in_stage` for the full view.
    completed_stage_seconds: dict[str, float] = field(default_factory=dict)
    revisits: int = 0
    steps: list[JourneyStep] = field(default_factory=list)
    revenue: Decimal = Decimal(0)

    @property
    def converted(self) -> bool:
        return self.converted_at is not None

    @property
    def started(self) -> bool:
        return self.stage is not None


def is_next(state: JourneyState, touchpoint: Touchpoint, catalogue: StageCatalogue) -> bool:
    """True when the touchpoint comes after everything the journey has seen."""
    return state.last_key is None or catalogue.order_key(touchpoint) > state.last_key


def effective_type(state: JourneyState, touchpoint: Touchpoint, catalogue: StageCatalogue) -> str:
    if touchpoint.type == catalogue.conversion_type and state.converted:
        return catalogue.repeat_conversion_type
    return touchpoint.type


def apply(state: JourneyState, touchpoint: Touchpoint, catalogue: StageCatalogue) -> JourneyState:
    """Fold one touchpoint, which must satisfy `is_next`, into the state (updated in place)."""
    event_type = effective_type(state, touchpoint, catalogue)
    event_stage = catalogue.stage_of(event_type)
    at = touchpoint.occurred_at
    revisit = False
    if event_stage is not None:
        if state.stage is None:
            state.started_at = at
            _enter(state, event_stage, at, touchpoint.event_id)
        elif catalogue.rank(event_stage) > catalogue.rank(state.stage):
            _enter(state, event_stage, at, touchpoint.event_id)
        elif catalogue.rank(event_stage) < catalogue.rank(state.stage):
            revisit = True
            state.revisits += 1
    if event_type == catalogue.conversion_type:
        state.converted_at = at
    if touchpoint.revenue is not None:
        state.revenue += touchpoint.revenue
    state.steps.append(
        JourneyStep(
            event_id=touchpoint.event_id,
            type=event_type,
            channel=touchpoint.channel,
            occurred_at=at,
            stage=state.stage,
            revisit=revisit,
            sentiment=touchpoint.sentiment,
        )
    )
    state.last_event_at = at
    state.last_key = catalogue.order_key(touchpoint)
    return state


def _enter(state: JourneyState, stage: str, at: datetime, event_id: str) -> None:
    if state.stage is not None and state.stage_entered_at is not None:
        spent = (at - state.stage_entered_at).total_seconds()
        state.completed_stage_seconds[state.stage] = (
            state.completed_stage_seconds.get(state.stage, 0.0) + spent
        )
    state.transitions.append(StageTransition(state.stage, stage, at, event_id))
    state.stage = stage
    state.stage_entered_at = at


def build(
    customer_id: str,
    product_id: str,
    touchpoints: Iterable[Touchpoint],
    catalogue: StageCatalogue,
    instance: int = 0,
) -> JourneyState:
    """The journey of a set of touchpoints; duplicates (same event id) count once."""
    state = JourneyState(customer_id=customer_id, product_id=product_id, instance=instance)
    for touchpoint in distinct_in_order(touchpoints, catalogue):
        apply(state, touchpoint, catalogue)
    return state


def distinct_in_order(
    touchpoints: Iterable[Touchpoint], catalogue: StageCatalogue
) -> list[Touchpoint]:
    by_id = {touchpoint.event_id: touchpoint for touchpoint in touchpoints}
    return sorted(by_id.values(), key=catalogue.order_key)


def time_in_stage(state: JourneyState) -> dict[str, float]:
    """Seconds spent in each stage; the current stage counts up to the last touchpoint."""
    seconds = dict(state.completed_stage_seconds)
    if state.stage is not None and state.stage_entered_at and state.last_event_at:
        current = (state.last_event_at - state.stage_entered_at).total_seconds()
        seconds[state.stage] = seconds.get(state.stage, 0.0) + current
    return seconds


def steps_by_stage(state: JourneyState) -> dict[str | None, list[JourneyStep]]:
    grouped: dict[str | None, list[JourneyStep]] = {}
    for step in state.steps:
        grouped.setdefault(step.stage, []).append(step)
    return grouped


class JourneyStatus(StrEnum):
    OPEN = "open"
    CONVERTED = "converted"
    ABANDONED = "abandoned"


def status(state: JourneyState, *, abandoned: bool) -> JourneyStatus:
    """Converted once purchased; abandoned when it went quiet for the inactivity window."""
    if state.converted:
        return JourneyStatus.CONVERTED
    return JourneyStatus.ABANDONED if abandoned else JourneyStatus.OPEN
