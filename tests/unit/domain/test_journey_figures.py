"""A journey's change to the product figures, computed from the steps it appended,
equals the full before-and-after difference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import journey
from shared.domain.journey_stats import Contribution, figures_change, touch_figures
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.domain.touchpoint import Touchpoint
from tests.support.touchpoints import touch
from tests.unit.domain.test_order_independence import touchpoints


@settings(max_examples=300, deadline=None)
@given(st.lists(touchpoints(), max_size=30), st.integers(0, 30), st.booleans())
def test_appended_steps_change_the_figures_as_a_full_recount_does(
    events: list[Touchpoint], cut: int, abandoned_after: bool
) -> None:
    ordered = journey.distinct_in_order(events, DEFAULT_CATALOGUE)
    state = journey.build("c1", "p1", ordered[:cut], DEFAULT_CATALOGUE)
    before = Contribution(journey.snapshot(state), abandoned=False)
    appended = [journey.apply(state, t, DEFAULT_CATALOGUE) for t in ordered[cut:]]
    after = Contribution(state, abandoned=abandoned_after)

    assert figures_change(before, after, appended) == figures_change(before, after)


def test_folding_leaves_a_snapshot_as_it_was() -> None:
    events = journey.distinct_in_order(_journey_events(), DEFAULT_CATALOGUE)
    state = journey.build("c1", "p1", events[:2], DEFAULT_CATALOGUE)
    kept = journey.snapshot(state)
    assert kept == state
    figures = touch_figures(kept, abandoned=False)
    for touchpoint in events[2:]:
        journey.apply(state, touchpoint, DEFAULT_CATALOGUE)

    assert touch_figures(kept, abandoned=False) == figures
    assert kept.touchpoint_count == 2
    assert state.touchpoint_count == len(events)


def _journey_events() -> list[Touchpoint]:
    return [
        touch("ad_click", 0),
        touch("product_view", 1, sentiment=0.5),
        touch("product_view", 2, sentiment=-0.5),
        touch("purchase", 3),
    ]
