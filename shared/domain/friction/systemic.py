"""Systemic friction: one rule firing for many customers of one product at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.alerts import Alert, Clear, Raise
from shared.domain.friction import config
from shared.domain.friction.config import FrictionRules


@dataclass(frozen=True, slots=True)
class Firing:
    """An alert of `rule` raised (or repeated) for a customer of a product."""

    rule: str
    product_id: str
    customer_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FiringCount:
    rule: str
    product_id: str
    customers: int  # distinct, within the window ending at `at`
    at: datetime


def firings(raises: list[Raise]) -> list[Firing]:
    """The firings that count towards systemic friction (product-level, not systemic)."""
    return [
        Firing(r.rule, r.product_id, r.customer_id, r.at)
        for r in raises
        if r.product_id is not None
        and r.customer_id is not None
        and r.rule != config.SYSTEMIC_FRICTION
    ]


def systemic_raises(counts: list[FiringCount], rules: FrictionRules) -> list[Raise]:
    return [
        Raise(
            config.SYSTEMIC_FRICTION,
            None,
            count.product_id,
            rules.systemic_severity,
            count.at,
            (),
            f"{count.rule} fired for {count.customers} customers of {count.product_id} "
            f"within {rules.systemic_window}",
            scope=count.rule,
        )
        for count in counts
        if count.customers >= rules.systemic_customers
    ]


def systemic_clears(active: list[Alert], watermark: datetime, rules: FrictionRules) -> list[Clear]:
    """Systemic alerts whose rule has not fired widely for a whole window."""
    return [
        Clear(
            config.SYSTEMIC_FRICTION,
            None,
            alert.product_id,
            watermark,
            f"no wide {alert.scope} for {rules.systemic_window}",
            scope=alert.scope,
        )
        for alert in active
        if alert.rule == config.SYSTEMIC_FRICTION
        and alert.last_seen + rules.systemic_window <= watermark
    ]
