"""`apply_batch` over table-driven batches: what a snapshot and a batch change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import pytest

from shared.config import Settings
from shared.domain import experience, journey
from shared.domain.alerts import dedup_key
from shared.domain.batch import (
    BatchPolicy,
    Changes,
    Observed,
    Snapshot,
    Work,
    alert_reads,
    apply_batch,
    settle_alerts,
)
from shared.domain.friction.systemic import Firing, systemic_key
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.domain.stored import StoredExperience, StoredJourney, Timeout
from shared.domain.touchpoint import Touchpoint
from tests.support.touchpoints import T0, touch

WINDOW = timedelta(hours=3)
LATENESS = timedelta(minutes=5)
POLICY = BatchPolicy(DEFAULT_CATALOGUE, WINDOW, Settings().rules, -0.3)
NOW = T0 + timedelta(days=1)


def stored(*touchpoints: Touchpoint, version: int = 4) -> Snapshot:
    """A snapshot holding customer c1's journey with p1 and experience, built from
    `touchpoints`, which the store also holds (so they are its history)."""
    state = journey.build("c1", "p1", touchpoints, DEFAULT_CATALOGUE)
    return Snapshot(
        latest={("c1", "p1"): StoredJourney(state, version, None)},
        experiences={
            "c1": StoredExperience(experience.build("c1", touchpoints, DEFAULT_CATALOGUE), 2)
        },
    )


def fresh(*touchpoints: Touchpoint) -> Work:
    return Work([Observed(0, t, True) for t in touchpoints])


@dataclass(frozen=True)
class Case:
    name: str
    snapshot: Callable[[], Snapshot]
    work: Work
    check: Callable[[Changes], None]
    firings: Sequence[Firing] = ()  # remembered, for systemic friction


def opens_a_journey(changes: Changes) -> None:
    [row] = changes.journeys
    assert (row.state.stage, row.abandoned_at) == ("consideration", None)
    assert [s.event_id for s in changes.steps[("c1", "p1", 0)]] == ["product_view@0"]
    assert changes.journeys_read == {}
    assert [e.touchpoint_count for e in changes.experiences] == [1]
    [armed] = changes.timeouts_armed
    assert armed.due_at == T0 + WINDOW
    assert changes.products == {"p1"}
    assert sum(f.touches for f in changes.touch_figures.values()) == 1
    assert sum(f.touches for f in changes.hotspots.values()) == 1
    assert changes.watermarks == {0: T0 - LATENESS}


def folds_into_what_was_read(changes: Changes) -> None:
    [row] = changes.journeys
    assert row.state.touchpoint_count == 2
    assert changes.journeys_read == {("c1", "p1", 0): 4}
    assert changes.experiences_read == {"c1": 2}
    assert [s.position for s in changes.steps[("c1", "p1", 0)]] == [1]
    assert changes.rebuilt_journeys == 0


def changes_no_map(changes: Changes) -> None:
    assert (changes.journeys, changes.experiences, changes.steps) == ([], [], {})
    assert changes.hotspots == {}
    assert changes.touch_figures == {}
    assert changes.watermarks == {0: T0 + timedelta(minutes=10) - LATENESS}


def rebuilds_the_late_journey(changes: Changes) -> None:
    assert changes.rebuilt_journeys == 1
    assert changes.steps_replaced == {("c1", "p1")}
    steps = changes.steps[("c1", "p1", 0)]
    assert [s.event_id for s in steps] == ["product_view@0", "ad_click@5", "add_to_cart@10"]
    assert changes.journeys_read == {("c1", "p1", 0): 4}


def abandons_the_due_journey(changes: Changes) -> None:
    [row] = changes.journeys
    assert row.abandoned_at == T0 + WINDOW
    assert changes.journeys_read == {("c1", "p1", 0): 4}
    assert changes.timeouts_taken == [Timeout("c1", "p1", 0, 0, T0 + WINDOW)]
    assert changes.products == {"p1"}
    assert sum(f.bounced for f in changes.touch_figures.values()) == 1


def due_at_window(*touchpoints: Touchpoint) -> Snapshot:
    """c1's journey with p1, built from `touchpoints`, and its stored timeout of a
    window after the first of them, due."""
    state = journey.build("c1", "p1", touchpoints, DEFAULT_CATALOGUE)
    return Snapshot(
        due=[Timeout("c1", "p1", 0, 0, T0 + WINDOW)],
        due_journeys={("c1", "p1", 0): StoredJourney(state, 4, None)},
    )


def takes_the_timeout_as_read(changes: Changes) -> None:
    assert changes.journeys == []
    assert changes.timeouts_taken == [Timeout("c1", "p1", 0, 0, T0 + WINDOW)]
    assert changes.timeouts_removed == set()


def opens_a_checkout_alert(changes: Changes) -> None:
    assert [t.rule for t in changes.triggered] == ["checkout_abandoned"]
    assert changes.triggered[0].touchpoint == "checkout_started@0"
    [alert] = [changes.alerts.alerts[h] for h in changes.alerts.dirty]
    assert (alert.customer_id, alert.product_id) == ("c1", "p1")


def opens_a_support_alert(changes: Changes) -> None:
    assert [t.rule for t in changes.triggered] == ["repeated_support"]
    [alert] = [changes.alerts.alerts[h] for h in changes.alerts.dirty]
    assert alert.touchpoints == tuple(t.event_id for t in TICKETS)
    assert changes.friction["c1"].customer_id == "c1"


def late_snapshot() -> Snapshot:
    snapshot = stored(touch("product_view", 0), touch("add_to_cart", 10))
    history = [*snapshot_history(), touch("ad_click", 5, channel="ads")]
    snapshot.journey_histories = {("c1", "p1"): history}
    return snapshot


def snapshot_history() -> list[Touchpoint]:
    return [touch("product_view", 0), touch("add_to_cart", 10)]


NINE_OTHERS = [
    Firing("checkout_abandoned", "p1", f"other-{n}", T0 + timedelta(minutes=n)) for n in range(9)
]


def opens_a_systemic_alert(changes: Changes) -> None:
    assert [t.rule for t in changes.triggered] == ["checkout_abandoned", "systemic_friction"]
    assert [(f.customer_id, f.product_id) for f in changes.firings] == [("c1", "p1")]


def anonymous_history() -> Snapshot:
    as_visitor = touch("product_view", 0, customer="c1", anonymous_id="anon")
    return Snapshot(
        old_journeys={
            ("anon", "p1", 0): StoredJourney(
                journey.build("anon", "p1", [as_visitor], DEFAULT_CATALOGUE), 3, None
            )
        },
        customer_histories={"c1": [as_visitor, touch("add_to_cart", 10)]},
    )


def rebuilds_the_customer_whole(changes: Changes) -> None:
    assert changes.deleted_journeys == {("anon", "p1", 0)}
    [row] = changes.journeys
    assert (row.state.customer_id, row.state.touchpoint_count) == ("c1", 2)
    assert [e.touchpoint_count for e in changes.experiences] == [2]
    assert changes.customers_replaced == {"c1", "anon"}
    # The visitor's journey no longer counts; the customer's counts once.
    assert sum(f.journeys for f in changes.touch_figures.values()) == 1


TICKETS = [touch("support_ticket_opened", n, channel="phone") for n in (1, 2, 3)]
LATE_VIEW = touch("product_view", 40, customer="c2")

CASES = [
    Case(
        "a first touchpoint opens a journey",
        Snapshot,
        fresh(touch("product_view", 0)),
        opens_a_journey,
    ),
    Case(
        "a later touchpoint folds into the journey read",
        lambda: stored(touch("product_view", 0)),
        fresh(touch("add_to_cart", 10)),
        folds_into_what_was_read,
    ),
    Case(
        "a redelivered touchpoint changes no map",
        lambda: stored(touch("product_view", 0)),
        Work([Observed(0, touch("add_to_cart", 10), False)]),
        changes_no_map,
    ),
    Case(
        "a late touchpoint rebuilds its journey from the stored ones",
        late_snapshot,
        fresh(touch("ad_click", 5, channel="ads")),
        rebuilds_the_late_journey,
    ),
    Case(
        "a timeout the tick passes abandons its journey",
        lambda: due_at_window(touch("product_view", 0)),
        Work(advance={0: T0 + WINDOW + timedelta(minutes=1)}),
        abandons_the_due_journey,
    ),
    Case(
        "a due timeout whose journey moved on since abandons nothing",
        # Read before the journey's later event moved its timeout on.
        lambda: due_at_window(touch("product_view", 0), touch("add_to_cart", 60)),
        Work(advance={0: T0 + WINDOW + timedelta(minutes=1)}),
        takes_the_timeout_as_read,
    ),
    Case(
        "a checkout the watermark passes unpaid opens an alert",
        Snapshot,
        fresh(touch("checkout_started", 0), LATE_VIEW),
        opens_a_checkout_alert,
    ),
    Case(
        "a tenth customer abandoning checkout opens a systemic alert",
        Snapshot,
        fresh(touch("checkout_started", 0), LATE_VIEW),
        opens_a_systemic_alert,
        firings=NINE_OTHERS,
    ),
    Case(
        "a customer who absorbed a visitor is rebuilt whole",
        anonymous_history,
        Work(
            [Observed(0, touch("add_to_cart", 10), True)],
            rebuild=frozenset({"c1"}),
            retired=frozenset({"anon"}),
        ),
        rebuilds_the_customer_whole,
    ),
    Case(
        "a third support contact opens an alert",
        lambda: Snapshot(evidence=list(TICKETS)),
        fresh(*TICKETS),
        opens_a_support_alert,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_apply_batch(case: Case) -> None:
    snapshot = case.snapshot()
    changes = apply_batch(snapshot, case.work, POLICY)
    held = [*snapshot.evidence, *case.work.new]
    settle_alerts(changes, [], case.firings, held, NOW, POLICY)
    case.check(changes)


def test_the_alert_reads_are_the_keys_the_signals_name_and_the_firings_near_them() -> None:
    changes = apply_batch(Snapshot(), fresh(touch("checkout_started", 0), LATE_VIEW), POLICY)
    reads = alert_reads(changes, POLICY)
    due = T0 + POLICY.rules.checkout_abandon_after
    assert reads.keys == {
        dedup_key("checkout_abandoned", "c1", "p1"),
        systemic_key("checkout_abandoned", "p1"),
        # Progress clears any stall of the journey.
        dedup_key("stage_stalled", "c1", "p1"),
        dedup_key("stage_stalled", "c2", "p1"),
    }
    window = POLICY.rules.systemic_window
    assert reads.firings == {("checkout_abandoned", "p1"): (due - window, due + window)}
