"""What one journey instance contributes to the product-wide figures.

Figures across customers are sums of per-journey contributions, so the aggregator
keeps them exact incrementally: when a journey changes, its old contribution is
subtracted and its new one added. A from-scratch recomputation sums the same
contributions over every journey.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from shared.domain.journey import JourneyState, JourneyStep, TallyKey
from shared.domain.stages import StageCatalogue

TouchKey = tuple[date, str, str]  # cohort day (the journey's start, UTC), type, channel

ProductTouchKey = tuple[str, date, str, str]  # product, cohort day, type, channel


@dataclass(frozen=True, slots=True)
class TouchFigures:
    journeys: int = 0  # journeys that had this touchpoint
    touches: int = 0
    converted_after: int = 0  # journeys that converted after their first such touch
    bounced: int = 0  # abandoned journeys whose last touchpoint it was
    sentiment_micros: int = 0
    sentiment_count: int = 0

    def __add__(self, other: TouchFigures) -> TouchFigures:
        return TouchFigures(
            self.journeys + other.journeys,
            self.touches + other.touches,
            self.converted_after + other.converted_after,
            self.bounced + other.bounced,
            self.sentiment_micros + other.sentiment_micros,
            self.sentiment_count + other.sentiment_count,
        )

    def __neg__(self) -> TouchFigures:
        return TouchFigures(
            -self.journeys,
            -self.touches,
            -self.converted_after,
            -self.bounced,
            -self.sentiment_micros,
            -self.sentiment_count,
        )

    @property
    def empty(self) -> bool:
        return self == TouchFigures()


def utc_day(at: datetime) -> date:
    """The day figures are counted under (clients may send any UTC offset)."""
    return at.astimezone(UTC).date()


def cohort_day(state: JourneyState) -> date | None:
    started = state.started_at or state.first_at
    return None if started is None else utc_day(started)


def touch_figures(
    state: JourneyState, *, abandoned: bool, only: Collection[TallyKey] | None = None
) -> dict[TouchKey, TouchFigures]:
    """The journey's contribution per touchpoint (type and channel); `only` some of them."""
    day = cohort_day(state)
    if day is None:
        return {}
    last = (state.last_type, state.last_channel)
    tallies = (
        state.tallies.items()
        if only is None
        else [(key, state.tallies[key]) for key in only if key in state.tallies]
    )
    return {
        (day, *key): TouchFigures(
            journeys=1,
            touches=tally.touches,
            converted_after=int(
                state.converted_at is not None and state.converted_at > tally.first_at
            ),
            bounced=int(abandoned and key == last),
            sentiment_micros=tally.sentiment_micros,
            sentiment_count=tally.sentiment_count,
        )
        for key, tally in tallies
    }


@dataclass(frozen=True, slots=True)
class Contribution:
    """A journey as the figures count it: its state, and whether it was abandoned."""

    state: JourneyState
    abandoned: bool


def figures_change(
    before: Contribution | None,
    after: Contribution | None,
    appended: Sequence[JourneyStep] | None = None,
) -> dict[TouchKey, TouchFigures]:
    """What to add to the figures when a journey went from `before` to `after` (None:
    absent). `appended` are the steps `after` added to `before`, when that is all that
    happened: then only their types' figures change, unless the journey's start day,
    conversion or abandonment changed too. So an event costs the same however varied
    the journey already is."""
    only = None
    if (
        before is not None
        and after is not None
        and appended is not None
        and not before.abandoned
        and not after.abandoned
        and before.state.converted_at == after.state.converted_at
        and cohort_day(before.state) == cohort_day(after.state)
    ):
        only = {(step.type, step.channel) for step in appended}
    change: dict[TouchKey, TouchFigures] = {}
    for sign, side in ((-1, before), (1, after)):
        if side is None:
            continue
        for key, figures in touch_figures(side.state, abandoned=side.abandoned, only=only).items():
            change[key] = change.get(key, TouchFigures()) + (figures if sign > 0 else -figures)
    return {key: figures for key, figures in change.items() if not figures.empty}


@dataclass(frozen=True, slots=True)
class FunnelFacts:
    """The columns of a journey row that the funnel is computed from."""

    stage_rank: int | None
    # Per stage rank: seconds since the stage the journey was in before (None if none).
    stage_seconds: list[float | None]
    first_channel: str | None
    last_type: str | None
    last_channel: str | None


def funnel_facts(state: JourneyState, catalogue: StageCatalogue) -> FunnelFacts:
    size = len(catalogue.stages)
    entered: list[datetime | None] = [None] * size
    seconds: list[float | None] = [None] * size
    for transition in state.transitions:
        rank = catalogue.rank(transition.to_stage)
        entered[rank] = transition.at
        if transition.from_stage is not None:
            previous = entered[catalogue.rank(transition.from_stage)]
            if previous is not None:
                seconds[rank] = (transition.at - previous).total_seconds()
    return FunnelFacts(
        stage_rank=None if state.stage is None else catalogue.rank(state.stage),
        stage_seconds=seconds,
        first_channel=state.first_channel,
        last_type=state.last_type,
        last_channel=state.last_channel,
    )
