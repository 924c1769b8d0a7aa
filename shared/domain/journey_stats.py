"""What one journey instance contributes to the product-wide figures.

Figures across customers are sums of per-journey contributions, so the aggregator
keeps them exact incrementally: when a journey changes, its old contribution is
subtracted and its new one added. A from-scratch recomputation sums the same
contributions over every journey.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from shared.domain.journey import JourneyState
from shared.domain.stages import StageCatalogue

TouchKey = tuple[date, str, str]  # cohort day (the journey's start, UTC), type, channel


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


def touch_figures(state: JourneyState, *, abandoned: bool) -> dict[TouchKey, TouchFigures]:
    """The journey's contribution per touchpoint (type and channel)."""
    day = cohort_day(state)
    if day is None:
        return {}
    last = (state.last_type, state.last_channel)
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
        for key, tally in state.tallies.items()
    }


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
