"""Which stored events the rules need: bounded by their windows, not by the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from shared.domain.friction import config
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.evidence import EvidenceRange, evidence_needs
from shared.domain.friction.timers import Timer, TimerAction
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.domain.touchpoint import Touchpoint
from tests.support.touchpoints import T0, touch

RULES = FrictionRules()
SUPPORT = sorted(DEFAULT_CATALOGUE.support_contact_types)
ERRORS = sorted(DEFAULT_CATALOGUE.error_types)


def at(minute: float) -> EvidenceRange:
    """From `minute` on."""
    return EvidenceRange(T0 + timedelta(minutes=minute), None)


def around(minute: float, window: timedelta) -> EvidenceRange:
    middle = T0 + timedelta(minutes=minute)
    return EvidenceRange(middle - window, middle + window)


@dataclass(frozen=True)
class Case:
    name: str
    touchpoints: list[Touchpoint]
    expected: dict[tuple[str, str], EvidenceRange]


CASES = [
    Case("browsing needs nothing", [touch("page_view", 0), touch("product_view", 1)], {}),
    Case(
        "a service contact needs the customer's contacts a support window either side",
        [touch("call", 60, channel="phone")],
        {("c1", t): around(60, RULES.support_window) for t in SUPPORT},
    ),
    Case(
        "an error needs the errors an error window either side",
        [touch("page_error", 60)],
        {("c1", t): around(60, RULES.error_window) for t in ERRORS},
    ),
    Case(
        "a checkout needs every purchase after it (its timer may fire in the batch)",
        [touch("checkout_started", 60)],
        {("c1", "purchase"): at(60)},
    ),
    Case(
        "two errors of one customer widen one range; customers stay apart",
        [touch("page_error", 0), touch("page_error", 30), touch("form_error", 0, customer="c2")],
        {
            **{("c1", t): EvidenceRange(
                T0 - RULES.error_window, T0 + timedelta(minutes=30) + RULES.error_window
            ) for t in ERRORS},
            **{("c2", t): around(0, RULES.error_window) for t in ERRORS},
        },
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_what_new_touchpoints_need(case: Case) -> None:
    assert evidence_needs(case.touchpoints, [], RULES, DEFAULT_CATALOGUE) == case.expected


def test_a_checkout_timer_needs_every_purchase_since_its_checkout() -> None:
    due = T0 + timedelta(minutes=90)
    timer = Timer(config.CHECKOUT_ABANDONED, TimerAction.RAISE, "c1", "p1", 0, due)
    stall = Timer(config.STAGE_STALLED, TimerAction.RAISE, "c1", "p1", 0, due)

    needs = evidence_needs([], [timer, stall], RULES, DEFAULT_CATALOGUE)

    assert needs == {("c1", "purchase"): at(90 - RULES.checkout_abandon_after.seconds / 60)}
