"""The hot-state cache: bounded, latest instance wins, forgets on demand."""

from __future__ import annotations

from services.aggregator.hot_state import HotStates
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState
from shared.domain.stored import StoredExperience, StoredJourney


def journey(customer: str, product: str, instance: int, version: int = 1) -> StoredJourney:
    return StoredJourney(JourneyState(customer, product, instance), version, None)


def held(customer: str, version: int = 1) -> StoredExperience:
    return StoredExperience(ExperienceState(customer), version)


def test_it_holds_the_latest_instance_of_each_journey() -> None:
    hot = HotStates(10)
    newer, older = journey("c1", "p1", 1, version=3), journey("c1", "p1", 0, version=7)

    hot.keep([newer, older, journey("c1", "p2", 0)], [held("c1")])

    assert hot.journeys([("c1", "p1"), ("c1", "p3")]) == {("c1", "p1"): newer}


def test_journeys_are_served_only_with_their_customers_experience() -> None:
    """The experience's version check is what guards a customer's journeys."""
    hot = HotStates(10)
    hot.keep([journey("c1", "p1", 0)], [])

    assert hot.journeys([("c1", "p1")]) == {}


def test_the_least_recently_used_customers_leave_first() -> None:
    hot = HotStates(2)
    hot.keep([], [held("c1"), held("c2")])
    hot.experiences(["c1"])  # c1 is used again
    hot.keep([], [held("c3")])

    assert set(hot.experiences(["c1", "c2", "c3"])) == {"c1", "c3"}


def test_forgotten_customers_are_read_again() -> None:
    hot = HotStates(10)
    hot.keep([journey("c1", "p1", 0)], [held("c1"), held("c2")])

    hot.forget(["c1"])
    assert set(hot.experiences(["c1", "c2"])) == {"c2"}
    assert hot.journeys([("c1", "p1")]) == {}
    hot.forget_all()
    assert hot.experiences(["c2"]) == {}


def test_a_cache_of_no_customers_holds_nothing() -> None:
    hot = HotStates(0)
    hot.keep([journey("c1", "p1", 0)], [held("c1")])

    assert hot.experiences(["c1"]) == {}
    assert hot.journeys([("c1", "p1")]) == {}
