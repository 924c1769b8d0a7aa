from __future__ import annotations

from shared.db.state_json import (
    experience_from_json,
    experience_to_json,
    journey_from_json,
    journey_to_json,
)
from shared.domain import experience, journey
from shared.domain.stages import DEFAULT_CATALOGUE
from tests.support.events import as_stored
from tests.support.legacy import legacy_experience_doc, legacy_journey_doc
from tests.support.touchpoints import touch

TOUCHPOINTS = [
    touch("ad_click", 0),
    touch("product_view", 1, sentiment=0.5),
    touch("purchase", 2, revenue="12.50"),
    touch("ad_click", 3),
    touch("call", 4, channel="phone", nps=3, csat=1),
]


def test_journey_round_trips() -> None:
    state = journey.build("c1", "p1", TOUCHPOINTS, DEFAULT_CATALOGUE)

    assert journey_from_json(as_stored(journey_to_json(state))) == state


def test_experience_round_trips() -> None:
    state = experience.build("c1", TOUCHPOINTS, DEFAULT_CATALOGUE)

    assert experience_from_json(as_stored(experience_to_json(state))) == state


def test_times_are_stored_as_iso_8601() -> None:
    doc = as_stored(journey_to_json(journey.build("c1", "p1", TOUCHPOINTS, DEFAULT_CATALOGUE)))

    assert doc["started_at"] == TOUCHPOINTS[0].occurred_at.isoformat()
    assert doc["tallies"][1][2] == TOUCHPOINTS[1].occurred_at.isoformat()


def test_a_journey_written_with_all_its_steps_reads_as_the_same_summary() -> None:
    path = journey.walk("c1", "p1", TOUCHPOINTS, DEFAULT_CATALOGUE)

    assert journey_from_json(legacy_journey_doc(path)) == path.state


def test_an_experience_written_with_its_lists_reads_as_the_same_summary() -> None:
    state = experience.build("c1", TOUCHPOINTS, DEFAULT_CATALOGUE)
    doc = legacy_experience_doc(state, TOUCHPOINTS, DEFAULT_CATALOGUE)

    assert experience_from_json(doc) == state
