"""Systemic friction: 10+ distinct customers of one product within an hour."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.alerts import Alert, AlertBook, Clear, Raise
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.systemic import FiringCount, systemic_signals
from tests.support.touchpoints import T0

RULES = FrictionRules()


def counts(*pairs: tuple[float, int]) -> list[FiringCount]:
    """(minute, distinct customers in the window) for checkout_abandoned on p1."""
    return [FiringCount("checkout_abandoned", "p1", T0 + timedelta(minutes=m), n) for m, n in pairs]


@pytest.mark.parametrize(("customers", "raises"), [(9, 0), (10, 1), (25, 1)])
def test_the_threshold(customers: int, raises: int) -> None:
    signals = systemic_signals(counts((0, customers)), {}, None, RULES)

    assert sum(isinstance(s, Raise) for s in signals) == raises
    if raises:
        (signal,) = signals
        assert isinstance(signal, Raise)
        assert signal.key == "systemic_friction|*|p1|checkout_abandoned"
        assert signal.severity.value == "critical"


def test_quiet_for_a_window_clears_then_a_new_wave_raises_again() -> None:
    signals = systemic_signals(counts((0, 10), (30, 11), (200, 12)), {}, None, RULES)

    kinds = [(type(s).__name__, s.at - T0) for s in signals]
    assert kinds == [
        ("Raise", timedelta(0)),
        ("Raise", timedelta(minutes=30)),
        ("Clear", timedelta(minutes=90)),
        ("Raise", timedelta(minutes=200)),
    ]


def test_the_watermark_clears_a_quiet_alert() -> None:
    (raised,) = systemic_signals(counts((0, 10)), {}, None, RULES)
    assert isinstance(raised, Raise)

    assert systemic_signals([], {}, T0 + timedelta(hours=2), RULES) == []
    signals = systemic_signals(
        [],
        {raised.key: _alert(raised)},
        T0 + timedelta(minutes=60),
        RULES,
    )
    assert [type(s) for s in signals] == [Clear]


def _alert(signal: Raise) -> Alert:
    book = AlertBook()
    book.apply(signal, RULES.cooldown)
    return book.alerts[0]
