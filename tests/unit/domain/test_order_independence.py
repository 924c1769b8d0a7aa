"""The maps are a pure function of the set of events: order and duplicates do not matter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.db.state_json import experience_to_json, journey_to_json
from shared.domain import experience, journey
from shared.domain.experience import ExperienceState
from shared.domain.fold import fold
from shared.domain.instances import build_instances
from shared.domain.journey import JourneyState, JourneyStep
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.domain.touchpoint import Touchpoint
from tests.support.touchpoints import T0

# Short, so that instances split often within the 30 minutes the events span.
WINDOW = timedelta(minutes=7)

EVENT_TYPES = [
    *DEFAULT_CATALOGUE.event_types(),
    "survey_response",
    "payment_failed",
    "page_error",
    "identify",
    "something_unknown",
]


@st.composite
def touchpoints(draw: st.DrawFn) -> Touchpoint:
    number = draw(st.integers(0, 10_000))
    return Touchpoint(
        event_id=f"e{number}",
        customer_id="c1",
        type=draw(st.sampled_from(EVENT_TYPES)),
        channel=draw(st.sampled_from(["web", "email", "ads", "phone"])),
        # Few distinct minutes, so equal timestamps (ordered by id) are common.
        occurred_at=T0 + timedelta(minutes=draw(st.integers(0, 30))),
        received_at=T0,
        product_id=draw(st.sampled_from(["p1", "p1", "p2", None])),
        sentiment=draw(st.none() | st.floats(-1, 1, allow_nan=False)),
        nps=draw(st.none() | st.integers(0, 10)),
        csat=draw(st.none() | st.integers(1, 5)),
        revenue=draw(st.none() | st.decimals("0", "1000", places=2).map(Decimal)),
    )


def distinct_events(events: list[Touchpoint]) -> list[Touchpoint]:
    # One content per event id: a retry repeats the same event.
    return list({e.event_id: e for e in events}.values())


events_and_shuffle = (
    st.lists(touchpoints(), max_size=40)
    .map(distinct_events)
    .flatmap(
        lambda events: st.tuples(
            st.just(events),
            st.permutations(events),
            st.lists(st.sampled_from(events), max_size=10) if events else st.just([]),
        )
    )
)


@settings(max_examples=300, deadline=None)
@given(events_and_shuffle)
def test_any_order_with_duplicates_gives_the_same_maps(
    case: tuple[list[Touchpoint], list[Touchpoint], list[Touchpoint]],
) -> None:
    events, shuffled, duplicates = case
    mixed = shuffled + duplicates

    for product in ("p1", "p2"):
        ours = [e for e in events if e.product_id == product]
        theirs = [e for e in mixed if e.product_id == product]
        assert journey_to_json(journey.build("c1", product, ours, DEFAULT_CATALOGUE)) == (
            journey_to_json(journey.build("c1", product, theirs, DEFAULT_CATALOGUE))
        )
    assert experience_to_json(experience.build("c1", events, DEFAULT_CATALOGUE)) == (
        experience_to_json(experience.build("c1", mixed, DEFAULT_CATALOGUE))
    )


@settings(max_examples=200, deadline=None)
@given(events_and_shuffle, st.data())
def test_batches_folded_incrementally_equal_one_build(
    case: tuple[list[Touchpoint], list[Touchpoint], list[Touchpoint]], data: st.DataObject
) -> None:
    """What the aggregator does (fold per batch, appending steps; rebuild late journeys)
    equals a build: the summaries and the stored steps alike."""
    events, shuffled, _ = case
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    instances: dict[tuple[str, str, int], JourneyState] = {}
    steps: dict[tuple[str, str, int], list[JourneyStep]] = {}
    experiences: dict[str, ExperienceState] = {}
    seen: list[Touchpoint] = []
    for batch in batches:
        seen.extend(batch)
        latest = {(c, p): s for (c, p, i), s in sorted(instances.items())}
        update = fold(batch, latest, experiences, DEFAULT_CATALOGUE, WINDOW)
        instances.update(update.journeys)
        for key, placed in update.steps.items():
            steps.setdefault(key, []).extend(placed)
        for customer, product in update.journeys_to_rebuild:
            stored = [e for e in seen if e.product_id == product]
            for key in [k for k in instances if k[:2] == (customer, product)]:
                del instances[key], steps[key]
            for path in build_instances(customer, product, stored, DEFAULT_CATALOGUE, WINDOW):
                key = (customer, product, path.state.instance)
                instances[key], steps[key] = path.state, path.steps
        experiences.update(update.experiences)

    for product in ("p1", "p2"):
        expected = build_instances(
            "c1", product, [e for e in events if e.product_id == product], DEFAULT_CATALOGUE,
            WINDOW,
        )  # fmt: skip
        found = [s for (c, p, i), s in sorted(instances.items()) if p == product]
        assert [journey_to_json(s) for s in found] == [
            journey_to_json(path.state) for path in expected
        ]
        assert [v for (c, p, i), v in sorted(steps.items()) if p == product] == [
            path.steps for path in expected
        ]
    if events:
        assert experience_to_json(experiences["c1"]) == experience_to_json(
            experience.build("c1", events, DEFAULT_CATALOGUE)
        )
