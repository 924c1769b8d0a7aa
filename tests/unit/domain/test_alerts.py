"""The alert lifecycle: open, fold repeats, acknowledge, resolve, cooldown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.alerts import (
    AlertBook,
    AlertStatus,
    Change,
    Clear,
    InvalidTransition,
    Raise,
    Severity,
    acknowledge,
    dedup_key,
    resolve,
)
from tests.support.touchpoints import T0

COOLDOWN = timedelta(minutes=10)


def _raise(minute: float, severity: Severity = Severity.WARNING, event: str = "e") -> Raise:
    return Raise(
        "detractor", "c1", "p1", severity, T0 + timedelta(minutes=minute), (event,), "NPS 3"
    )


def _clear(minute: float) -> Clear:
    return Clear("detractor", "c1", "p1", T0 + timedelta(minutes=minute), "better score")


def test_the_dedup_key_is_rule_customer_product() -> None:
    assert dedup_key("detractor", "c1", "p1") == "detractor|c1|p1"
    assert dedup_key("repeated_support", "c1", None) == "repeated_support|c1|*"
    assert dedup_key("systemic_friction", None, "p1", "detractor") == (
        "systemic_friction|*|p1|detractor"
    )


def test_repeats_fold_into_one_open_alert() -> None:
    book = AlertBook()

    changes = [book.apply(_raise(m, event=f"e{m}"), COOLDOWN) for m in (0, 1, 2)]

    assert changes == [Change.TRIGGERED, None, None]
    (alert,) = book.alerts
    assert alert.occurrences == 3
    assert alert.last_seen == T0 + timedelta(minutes=2)
    assert alert.touchpoints == ("e0", "e1", "e2")
    assert [n.change for n in book.notifications] == [Change.TRIGGERED]


def test_a_more_severe_repeat_escalates_and_notifies() -> None:
    book = AlertBook()
    book.apply(_raise(0), COOLDOWN)

    assert book.apply(_raise(1, Severity.CRITICAL), COOLDOWN) is Change.UPDATED
    assert book.alerts[0].severity is Severity.CRITICAL


def test_the_condition_clearing_resolves_it() -> None:
    book = AlertBook()
    book.apply(_raise(0), COOLDOWN)

    assert book.apply(_clear(5), COOLDOWN) is Change.RESOLVED
    assert book.alerts[0].status is AlertStatus.RESOLVED
    assert book.alerts[0].resolved_by == "condition"
    assert book.apply(_clear(6), COOLDOWN) is None  # nothing active to clear


@pytest.mark.parametrize(
    ("minute", "reopens"),
    [(14.9, False), (15, True), (60, True)],
)
def test_a_cooldown_after_resolving_stops_flapping(minute: float, reopens: bool) -> None:
    book = AlertBook()
    book.apply(_raise(0), COOLDOWN)
    book.apply(_clear(5), COOLDOWN)

    change = book.apply(_raise(minute), COOLDOWN)

    if reopens:
        assert change is Change.TRIGGERED
        assert len(book.alerts) == 2
        assert book.alerts[1].status is AlertStatus.OPEN
    else:
        assert change is None
        assert len(book.alerts) == 1
        assert book.alerts[0].suppressed == 1


def test_people_acknowledge_then_resolve() -> None:
    book = AlertBook()
    book.apply(_raise(0), COOLDOWN)
    alert = book.alerts[0]

    acked = acknowledge(alert, "ann", "looking", T0 + timedelta(minutes=1))
    done = resolve(acked.alert, "ann", "called the customer", T0 + timedelta(minutes=2))

    assert (acked.change, acked.alert.status) == (Change.ACKNOWLEDGED, AlertStatus.ACKNOWLEDGED)
    assert (done.change, done.alert.status) == (Change.RESOLVED, AlertStatus.RESOLVED)
    assert done.alert.resolved_by == "ann"
    assert [(t.action.change, t.action.by, t.action.note) for t in (acked, done) if t.action] == [
        (Change.ACKNOWLEDGED, "ann", "looking"),
        (Change.RESOLVED, "ann", "called the customer"),
    ]
    assert acked.alert.resolution_note is None
    with pytest.raises(InvalidTransition, match="already resolved"):
        resolve(done.alert, "bob", None, T0)
    with pytest.raises(InvalidTransition, match="only open alerts"):
        acknowledge(done.alert, "bob", None, T0)


def test_an_acknowledged_alert_still_folds_repeats() -> None:
    book = AlertBook()
    book.apply(_raise(0), COOLDOWN)
    book.alerts[0] = acknowledge(book.alerts[0], "ann", None, T0).alert

    assert book.apply(_raise(1), COOLDOWN) is None
    assert book.alerts[0].occurrences == 2
    assert book.alerts[0].status is AlertStatus.ACKNOWLEDGED


def test_an_alert_from_events_older_than_the_paging_horizon_is_a_backfill() -> None:
    horizon = T0 + timedelta(hours=1)
    book = AlertBook()
    book.apply(_raise(0), COOLDOWN, history_before=horizon)
    fresh = Raise("negative_sentiment", "c1", "p1", Severity.WARNING, T0 + timedelta(hours=2),
                  ("e2",), "sentiment -0.9")  # fmt: skip
    book.apply(fresh, COOLDOWN, history_before=horizon)

    assert [a.backfill for a in book.alerts] == [True, False]


def test_a_late_raise_folds_into_the_alert_it_belonged_to_without_reopening_it() -> None:
    book = AlertBook()
    book.apply(_raise(30), COOLDOWN)
    book.apply(_clear(60), COOLDOWN)

    change = book.apply(_raise(10, Severity.CRITICAL, event="late"), COOLDOWN)

    (alert,) = book.alerts
    assert change is None
    assert (alert.status, alert.severity, alert.occurrences) == (
        AlertStatus.RESOLVED,
        Severity.CRITICAL,
        2,
    )
    assert alert.first_seen == T0 + timedelta(minutes=10)
