"""The stage rules of DESIGN.md section 2, as tables of (touchpoints in -> journey out)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.domain import journey
from shared.domain.journey import JourneyStatus
from shared.domain.stages import DEFAULT_CATALOGUE, StageCatalogue
from shared.domain.touchpoint import Touchpoint
from tests.support.touchpoints import touch


@dataclass(frozen=True)
class Case:
    name: str
    touchpoints: list[Touchpoint]
    stage: str | None
    path: list[str]
    converted: bool = False
    revisits: int = 0
    types: list[str] | None = None


CASES = [
    Case("no touchpoints", [], None, []),
    Case("first staged event starts it", [touch("ad_click", 0)], "awareness", ["awareness"]),
    Case(
        "forward moves through every stage",
        [
            touch("ad_click", 0),
            touch("product_view", 1),
            touch("add_to_cart", 2),
            touch("support_ticket_opened", 3),
            touch("loyalty_joined", 4),
        ],
        "loyalty",
        ["awareness", "consideration", "decision", "service", "loyalty"],
    ),
    Case(
        "skipping stages is allowed",
        [touch("product_view", 0), touch("checkout_started", 1)],
        "decision",
        ["consideration", "decision"],
    ),
    Case(
        "journey may start past awareness",
        [touch("add_to_cart", 0)],
        "decision",
        ["decision"],
    ),
    Case(
        "a lower stage is a revisit: kept, flagged, stage unchanged",
        [touch("add_to_cart", 0), touch("product_view", 1), touch("ad_click", 2)],
        "decision",
        ["decision"],
        revisits=2,
    ),
    Case(
        "same stage again is neither a move nor a revisit",
        [touch("page_view", 0), touch("product_view", 1), touch("search", 2)],
        "consideration",
        ["consideration"],
    ),
    Case(
        "purchase converts",
        [touch("product_view", 0), touch("purchase", 1)],
        "decision",
        ["consideration", "decision"],
        converted=True,
    ),
    Case(
        "a second purchase is a repeat purchase and moves to loyalty",
        [touch("purchase", 0), touch("purchase", 5)],
        "loyalty",
        ["decision", "loyalty"],
        converted=True,
        types=["purchase", "repeat_purchase"],
    ),
    Case(
        "purchase after service converts without moving back",
        [touch("support_ticket_opened", 0), touch("purchase", 1)],
        "service",
        ["service"],
        converted=True,
        revisits=1,
    ),
    Case(
        "neutral events are kept but move nothing",
        [
            touch("product_view", 0),
            touch("survey_response", 1, nps=3),
            touch("payment_failed", 2),
            touch("mystery_event", 3),
        ],
        "consideration",
        ["consideration"],
        types=["product_view", "survey_response", "payment_failed", "mystery_event"],
    ),
    Case(
        "neutral events before the first staged one do not start it",
        [touch("page_error", 0), touch("identify", 1)],
        None,
        [],
    ),
    Case(
        "arrival order does not matter, event time does",
        [touch("purchase", 10), touch("ad_click", 0), touch("product_view", 5)],
        "decision",
        ["awareness", "consideration", "decision"],
        converted=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_stage_rules(case: Case) -> None:
    path = journey.walk("c1", "p1", case.touchpoints, DEFAULT_CATALOGUE)
    state = path.state

    assert state.stage == case.stage
    assert [t.to_stage for t in state.transitions] == case.path
    assert state.converted is case.converted
    assert state.revisits == case.revisits
    assert sum(step.revisit for step in path.steps) == case.revisits
    assert [step.position for step in path.steps] == list(range(len(case.touchpoints)))
    assert state.touchpoint_count == len(case.touchpoints)
    if case.types is not None:
        assert [step.type for step in path.steps] == case.types


def test_time_in_stage_counts_until_the_last_touchpoint() -> None:
    state = journey.build(
        "c1",
        "p1",
        [touch("ad_click", 0), touch("product_view", 10), touch("search", 25)],
        DEFAULT_CATALOGUE,
    )

    assert journey.time_in_stage(state) == {"awareness": 600.0, "consideration": 900.0}


def test_touchpoints_are_placed_in_the_stage_they_happened_in() -> None:
    path = journey.walk(
        "c1",
        "p1",
        [touch("form_error", 0), touch("ad_click", 1), touch("product_view", 2)],
        DEFAULT_CATALOGUE,
    )

    assert [(s.stage, s.type) for s in path.steps] == [
        (None, "form_error"),
        ("awareness", "ad_click"),
        ("consideration", "product_view"),
    ]
    assert path.state.stage_touchpoints == {"": 1, "awareness": 1, "consideration": 1}


def test_the_state_keeps_one_tally_per_type_and_channel_however_long_the_journey() -> None:
    views = [touch("product_view", minute, sentiment=0.5) for minute in range(1, 501)]

    state = journey.build("c1", "p1", [touch("ad_click", 0), *views], DEFAULT_CATALOGUE)

    assert state.touchpoint_count == 501
    assert set(state.tallies) == {("ad_click", "web"), ("product_view", "web")}
    tally = state.tallies[("product_view", "web")]
    assert (tally.touches, tally.sentiment_micros, tally.sentiment_count) == (500, 250_000_000, 500)
    assert (state.first_channel, state.last_type) == ("web", "product_view")


def test_revenue_adds_up_exactly() -> None:
    state = journey.build(
        "c1",
        "p1",
        [touch("purchase", 0, revenue="0.10"), touch("purchase", 1, revenue="0.20")],
        DEFAULT_CATALOGUE,
    )

    assert str(state.revenue) == "0.30"


def test_duplicates_count_once() -> None:
    click = touch("ad_click", 0)

    path = journey.walk("c1", "p1", [click, click, click], DEFAULT_CATALOGUE)

    assert len(path.steps) == 1
    assert path.state.touchpoint_count == 1


@pytest.mark.parametrize(
    ("touchpoints", "abandoned", "expected"),
    [
        ([touch("product_view", 0)], False, JourneyStatus.OPEN),
        ([touch("product_view", 0)], True, JourneyStatus.ABANDONED),
        ([touch("purchase", 0)], False, JourneyStatus.CONVERTED),
    ],
)
def test_status(touchpoints: list[Touchpoint], abandoned: bool, expected: JourneyStatus) -> None:
    state = journey.build("c1", "p1", touchpoints, DEFAULT_CATALOGUE)

    assert journey.status(state, abandoned=abandoned) is expected


def test_is_next_tells_late_touchpoints_apart() -> None:
    state = journey.build("c1", "p1", [touch("product_view", 10)], DEFAULT_CATALOGUE)

    assert journey.is_next(state, touch("search", 11), DEFAULT_CATALOGUE)
    assert not journey.is_next(state, touch("ad_click", 5), DEFAULT_CATALOGUE)


def test_a_custom_catalogue_changes_the_stages() -> None:
    catalogue = StageCatalogue(
        stages=("browse", "buy"),
        stage_types={"browse": ("page_view",), "buy": ("purchase",)},
    )

    state = journey.build("c1", "p1", [touch("page_view", 0), touch("purchase", 1)], catalogue)

    assert [t.to_stage for t in state.transitions] == ["browse", "buy"]
    assert state.converted


def test_events_of_one_millisecond_keep_the_stage_order_whatever_their_ids() -> None:
    # Ids sort against the stage order; the same millisecond, as Segment's SDK stamps.
    same_moment = [
        touch("add_to_cart", 0, event_id="a-cart"),
        touch("product_view", 0, event_id="b-view"),
        touch("ad_click", 0, event_id="c-click"),
    ]

    state = journey.build("c1", "p1", same_moment, DEFAULT_CATALOGUE)

    assert [t.to_stage for t in state.transitions] == ["awareness", "consideration", "decision"]
    assert state.revisits == 0
