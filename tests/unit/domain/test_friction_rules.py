"""The friction rules of DESIGN.md section 4, as tables, with their edges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from shared.domain.alerts import Clear, Raise, Severity, Signal
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.engine import FrictionEngine
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.domain.touchpoint import Touchpoint
from tests.support.touchpoints import T0, touch

RULES = FrictionRules()


def run(touchpoints: list[Touchpoint], *, until_minute: float | None = None) -> list[Signal]:
    """The signals of a stream, then of the watermark advancing to `until_minute`.

    The stream is stored before the rules run, as the aggregator stores a batch.
    """
    engine = FrictionEngine(RULES, DEFAULT_CATALOGUE)
    engine.evidence.add(touchpoints)
    signals = engine.run((0, t, True) for t in touchpoints)
    if until_minute is not None:
        signals += engine.advance(0, T0 + timedelta(minutes=until_minute))
    return signals


def raised(signals: list[Signal]) -> list[tuple[str, str | None, str | None, Severity]]:
    return [
        (s.rule, s.customer_id, s.product_id, s.severity) for s in signals if isinstance(s, Raise)
    ]


def cleared(signals: list[Signal]) -> list[str]:
    return [s.rule for s in signals if isinstance(s, Clear)]


W, C, INFO = Severity.WARNING, Severity.CRITICAL, Severity.INFO
DAY = 24 * 60


@dataclass(frozen=True)
class Case:
    name: str
    touchpoints: list[Touchpoint]
    raised: list[tuple[str, str | None, str | None, Severity]]
    until_minute: float | None = None


CASES = [
    # checkout_abandoned: 30 minutes by event time; timers fire at watermark (+5 min lateness)
    Case(
        "checkout without purchase fires once the watermark passes 30 min",
        [touch("checkout_started", 0)],
        [("checkout_abandoned", "c1", "p1", W)],
        until_minute=30,
    ),
    Case(
        "checkout timer not yet due one second before",
        [touch("checkout_started", 0)],
        [],
        until_minute=29.99,
    ),
    Case(
        "purchase at exactly 30 min is in time",
        [touch("checkout_started", 0), touch("purchase", 30)],
        [],
        until_minute=120,
    ),
    Case(
        "purchase at 31 min: abandoned first, then resolved",
        [touch("checkout_started", 0), touch("purchase", 31)],
        [("checkout_abandoned", "c1", "p1", W)],
    ),
    Case(
        "a purchase of another product does not count",
        [touch("checkout_started", 0), touch("purchase", 5, product="p2")],
        [("checkout_abandoned", "c1", "p1", W)],
        until_minute=30,
    ),
    # repeated_support: 3+ contacts within 7 days; critical across 3+ channels
    Case(
        "two contacts are not repeated support",
        [touch("call", 0, channel="phone"), touch("chat_started", 60, channel="chat")],
        [],
    ),
    Case(
        "exactly three contacts within 7 days, two channels",
        [
            touch("call", 0, channel="phone", product=None),
            touch("chat_started", 60, channel="chat", product=None),
            touch("call", 7 * DAY, channel="phone", product=None),
        ],
        [("repeated_support", "c1", None, W)],
    ),
    Case(
        "three contacts spanning 7 days and a minute",
        [
            touch("call", 0, channel="phone"),
            touch("call", 60, channel="phone"),
            touch("call", 7 * DAY + 1, channel="phone"),
        ],
        [],
    ),
    Case(
        "three contacts across three channels are critical",
        [
            touch("support_ticket_opened", 0, channel="email"),
            touch("chat_started", 10, channel="chat"),
            touch("call", 20, channel="phone"),
        ],
        [("repeated_support", "c1", None, C)],
    ),
    Case(
        "a ticket update is not a new contact",
        [
            touch("support_ticket_opened", 0, channel="email"),
            touch("support_ticket_updated", 10, channel="email"),
            touch("support_ticket_updated", 20, channel="email"),
        ],
        [],
    ),
    # detractor: NPS <= 6 or CSAT <= 2
    Case(
        "NPS 6 is a detractor", [touch("survey_response", 0, nps=6)], [("detractor", "c1", "p1", W)]
    ),
    Case("NPS 7 is not", [touch("survey_response", 0, nps=7)], []),
    Case("CSAT 2 is", [touch("survey_response", 0, csat=2)], [("detractor", "c1", "p1", W)]),
    Case("CSAT 3 is not", [touch("survey_response", 0, csat=3)], []),
    # negative_sentiment: <= -0.6
    Case(
        "sentiment -0.6 is negative",
        [touch("call", 0, sentiment=-0.6)],
        [("negative_sentiment", "c1", "p1", W)],
    ),
    Case("sentiment -0.59 is not", [touch("call", 0, sentiment=-0.59)], []),
    # error_touchpoint: warning; critical at 3+ within an hour
    Case("one error", [touch("payment_failed", 0)], [("error_touchpoint", "c1", "p1", W)]),
    Case(
        "three errors within an hour are critical",
        [touch("page_error", 0), touch("form_error", 30), touch("payment_failed", 60)],
        [
            ("error_touchpoint", "c1", "p1", W),
            ("error_touchpoint", "c1", "p1", W),
            ("error_touchpoint", "c1", "p1", C),
        ],
    ),
    Case(
        "three errors spanning an hour and a minute stay warnings",
        [touch("page_error", 0), touch("form_error", 30), touch("payment_failed", 61)],
        [("error_touchpoint", "c1", "p1", W)] * 3,
    ),
    # stage_stalled: consideration 14 days, decision 2 days
    Case(
        "stalled in decision for two days",
        [touch("add_to_cart", 0)],
        [("stage_stalled", "c1", "p1", INFO)],
        until_minute=2 * DAY,
    ),
    Case(
        "not yet stalled a minute before",
        [touch("add_to_cart", 0)],
        [],
        until_minute=2 * DAY - 1,
    ),
    Case(
        "a purchase is progress: no stall",
        [touch("add_to_cart", 0), touch("purchase", 10)],
        [],
        until_minute=30 * DAY,
    ),
    Case(
        "stalled in consideration for 14 days",
        [touch("product_view", 0)],
        [("stage_stalled", "c1", "p1", INFO)],
        until_minute=14 * DAY,
    ),
    Case(
        "no stall rule for awareness",
        [touch("ad_click", 0)],
        [],
        until_minute=60 * DAY,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_rules(case: Case) -> None:
    assert raised(run(case.touchpoints, until_minute=case.until_minute)) == case.raised


def test_the_late_purchase_clears_the_checkout_alert() -> None:
    signals = run([touch("checkout_started", 0), touch("purchase", 45)])

    assert raised(signals) == [("checkout_abandoned", "c1", "p1", W)]
    assert "checkout_abandoned" in cleared(signals)


def test_progress_clears_a_stall() -> None:
    signals = run([touch("add_to_cart", 0), touch("purchase", 3 * DAY)])

    assert raised(signals) == [("stage_stalled", "c1", "p1", INFO)]
    assert "stage_stalled" in cleared(signals)


def test_a_better_score_clears_the_detractor() -> None:
    signals = run([touch("survey_response", 0, nps=3), touch("survey_response", 60, nps=9)])

    assert cleared(signals) == ["detractor"]


def test_errors_clear_after_a_quiet_hour() -> None:
    signals = run([touch("page_error", 0)], until_minute=66)

    assert cleared(signals) == ["error_touchpoint"]


def test_repeated_support_clears_after_a_quiet_window() -> None:
    contacts = [touch("call", m, channel="phone", product=None) for m in (0, 1, 2)]

    # A week after the last contact, plus the allowed lateness (5 min).
    assert cleared(run(contacts, until_minute=7 * DAY + 7)) == ["repeated_support"]
    assert cleared(run(contacts, until_minute=7 * DAY + 6)) == []


def test_each_timer_fires_once() -> None:
    engine = FrictionEngine(RULES, DEFAULT_CATALOGUE)
    engine.evidence.add([touch("checkout_started", 0)])
    engine.run([(0, touch("checkout_started", 0), True)])

    first = engine.advance(0, T0 + timedelta(hours=1))
    again = engine.advance(0, T0 + timedelta(hours=2))

    assert raised(first) == [("checkout_abandoned", "c1", "p1", W)]
    assert raised(again) == []
    assert engine.timers.removed >= {"raise:checkout_abandoned|c1|p1"}


def test_the_watermark_lags_event_time_by_the_allowed_lateness() -> None:
    engine = FrictionEngine(RULES, DEFAULT_CATALOGUE)
    checkout = touch("checkout_started", 0)

    early = engine.run([(0, checkout, True), (0, touch("page_view", 34, product="p9"), True)])
    late = engine.observe(0, touch("page_view", 35, product="p9"), new=True)

    assert raised(early) == []
    assert raised(late) == [("checkout_abandoned", "c1", "p1", W)]


def test_duplicates_advance_time_but_are_not_evaluated() -> None:
    engine = FrictionEngine(RULES, DEFAULT_CATALOGUE)

    signals = engine.run([(0, touch("survey_response", 0, nps=1), False)])

    assert signals == []
    assert engine.watermarks[0] == T0 - RULES.allowed_lateness


def test_a_purchase_stored_before_its_checkout_rules_the_alert_out() -> None:
    # The purchase (minute 2) arrived first; the checkout (minute 0) after it.
    signals = run([touch("purchase", 2), touch("checkout_started", 0)], until_minute=120)

    assert raised(signals) == []


def test_errors_delivered_in_reverse_still_escalate() -> None:
    errors = [touch("page_error", m) for m in (40, 20, 0)]

    assert raised(run(errors)) == [
        ("error_touchpoint", "c1", "p1", W),
        ("error_touchpoint", "c1", "p1", W),
        ("error_touchpoint", "c1", "p1", W),
        # The last to arrive completes the window ending at the first error in time.
        ("error_touchpoint", "c1", "p1", C),
    ]


def test_a_late_better_score_clears_an_earlier_detractor_at_once() -> None:
    # The good score (minute 60) arrived before the bad one (minute 0).
    signals = run([touch("survey_response", 60, nps=9), touch("survey_response", 0, nps=2)])

    assert raised(signals) == [("detractor", "c1", "p1", W)]
    assert cleared(signals) == ["detractor", "detractor"]
