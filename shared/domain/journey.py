"""The customer journey map: one customer, one product, a linear path through stages.

A journey is a reducer over touchpoints in event-time order. `apply` folds one
touchpoint into the state and returns the step it placed; `walk` folds a whole set, so
the map is a pure function of the set of events. Callers use `is_next` to decide
whether a new touchpoint can be applied incrementally or the journey must be rebuilt
because the touchpoint is late.

The state is a summary of bounded size (stages, counters, one tally per touchpoint
type and channel), so applying a touchpoint costs the same however long the journey
is. The steps themselves are stored apart, one row each, appended as they are placed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.domain.stages import OrderKey, StageCatalogue
from shared.domain.touchpoint import Touchpoint, sentiment_micros


@dataclass(slots=True)
class StageTransition:
    from_stage: str | None
    to_stage: str
    at: datetime
    event_id: str


@dataclass(slots=True)
class JourneyStep:
    """A touchpoint as placed on the journey."""

    # Where on the journey: 0 for its first touchpoint.
    position: int
    event_id: str
    # The effective type: a purchase after conversion is recorded as a repeat purchase.
    type: str
    channel: str
    occurred_at: datetime
    # The journey's stage once this touchpoint is applied (None before the journey starts).
    stage: str | None
    revisit: bool = False
    sentiment: float | None = None


@dataclass(frozen=True, slots=True)
class TouchTally:
    """A journey's touches of one type on one channel: what the product figures count.

    Replaced, never changed, so a copy of the tallies keeps what they were."""

    first_at: datetime
    touches: int = 0
    sentiment_micros: int = 0
    sentiment_count: int = 0


TallyKey = tuple[str, str]  # effective type, channel


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
    revenue: Decimal = Decimal(0)
    touchpoint_count: int = 0
    first_at: datetime | None = None
    first_channel: str | None = None
    last_type: str | None = None
    last_channel: str | None = None
    tallies: dict[TallyKey, TouchTally] = field(default_factory=dict)
    # Touchpoints per stage they were placed in ("" before the journey started).
    stage_touchpoints: dict[str, int] = field(default_factory=dict)
    # Revisits per stage the journey was in when it went back (the stage flow's stubs).
    stage_revisits: dict[str, int] = field(default_factory=dict)

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


def apply(state: JourneyState, touchpoint: Touchpoint, catalogue: StageCatalogue) -> JourneyStep:
    """Fold one touchpoint, which must satisfy `is_next`, into the state (updated in place),
    and return the step it became."""
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
    step = JourneyStep(
        position=state.touchpoint_count,
        event_id=touchpoint.event_id,
        type=event_type,
        channel=touchpoint.channel,
        occurred_at=at,
        stage=state.stage,
        revisit=revisit,
        sentiment=touchpoint.sentiment,
    )
    record_step(state, step)
    state.last_event_at = at
    state.last_key = catalogue.order_key(touchpoint)
    return step


def record_step(state: JourneyState, step: JourneyStep) -> None:
    """Count a placed step into the summary (`apply` does; so does reading old documents)."""
    if state.touchpoint_count == 0:
        state.first_at = step.occurred_at
        state.first_channel = step.channel
    state.touchpoint_count += 1
    state.last_type, state.last_channel = step.type, step.channel
    key = (step.type, step.channel)
    tally = state.tallies.get(key) or TouchTally(step.occurred_at)
    scored = step.sentiment is not None
    micros = 0 if step.sentiment is None else sentiment_micros(step.sentiment)
    state.tallies[key] = TouchTally(
        tally.first_at,
        tally.touches + 1,
        tally.sentiment_micros + micros,
        tally.sentiment_count + int(scored),
    )
    stage = step.stage or ""
    state.stage_touchpoints[stage] = state.stage_touchpoints.get(stage, 0) + 1
    if step.revisit:
        state.stage_revisits[stage] = state.stage_revisits.get(stage, 0) + 1


def snapshot(state: JourneyState) -> JourneyState:
    """A copy that folding `state` further leaves as it is. Built field by field:
    dataclasses.replace is several times slower, and this runs for every journey a
    batch reads."""
    return JourneyState(
        state.customer_id,
        state.product_id,
        state.instance,
        state.stage,
        state.started_at,
        state.stage_entered_at,
        state.converted_at,
        state.last_event_at,
        state.last_key,
        list(state.transitions),
        dict(state.completed_stage_seconds),
        state.revisits,
        state.revenue,
        state.touchpoint_count,
        state.first_at,
        state.first_channel,
        state.last_type,
        state.last_channel,
        dict(state.tallies),
        dict(state.stage_touchpoints),
        dict(state.stage_revisits),
    )


def _enter(state: JourneyState, stage: str, at: datetime, event_id: str) -> None:
    if state.stage is not None and state.stage_entered_at is not None:
        spent = (at - state.stage_entered_at).total_seconds()
        state.completed_stage_seconds[state.stage] = (
            state.completed_stage_seconds.get(state.stage, 0.0) + spent
        )
    state.transitions.append(StageTransition(state.stage, stage, at, event_id))
    state.stage = stage
    state.stage_entered_at = at


@dataclass(slots=True)
class JourneyPath:
    """A journey with every step it was built from."""

    state: JourneyState
    steps: list[JourneyStep]


def walk(
    customer_id: str,
    product_id: str,
    touchpoints: Iterable[Touchpoint],
    catalogue: StageCatalogue,
    instance: int = 0,
) -> JourneyPath:
    """The journey of a set of touchpoints; duplicates (same event id) count once."""
    state = JourneyState(customer_id=customer_id, product_id=product_id, instance=instance)
    steps = [apply(state, t, catalogue) for t in distinct_in_order(touchpoints, catalogue)]
    return JourneyPath(state, steps)


def build(
    customer_id: str,
    product_id: str,
    touchpoints: Iterable[Touchpoint],
    catalogue: StageCatalogue,
    instance: int = 0,
) -> JourneyState:
    return walk(customer_id, product_id, touchpoints, catalogue, instance).state


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


class JourneyStatus(StrEnum):
    OPEN = "open"
    CONVERTED = "converted"
    ABANDONED = "abandoned"


def status(state: JourneyState, *, abandoned: bool) -> JourneyStatus:
    """Converted once purchased; abandoned when it went quiet for the inactivity window."""
    if state.converted:
        return JourneyStatus.CONVERTED
    return JourneyStatus.ABANDONED if abandoned else JourneyStatus.OPEN
