"""Systemic friction: one rule firing for many customers of one product at once.

Firings are taken in event-time order: each window, ending at a firing, that holds
the threshold of distinct customers raises (or repeats) the systemic alert for that
rule and product; an alert with no such firing for a whole window clears. A late
firing is counted in every window that holds it, so arrival order cannot hide a
spread.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.alerts import Alert, Clear, Raise, Signal, dedup_key
from shared.domain.friction import config
from shared.domain.friction.config import FrictionRules
from shared.durations import human_duration

# How far behind the newest firing of its rule and product a late firing still counts
# towards systemic friction.
FIRING_MEMORY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Firing:
    """An alert of `rule` raised (or repeated) for a customer of a product."""

    rule: str
    product_id: str
    customer_id: str
    at: datetime


def distinct_customers_in_windows(
    firings: Sequence[Firing], points: Iterable[datetime], window: timedelta
) -> dict[datetime, int]:
    """For each point, the distinct customers among `firings` (one rule and product)
    in [point - window, point]. One pass over both, sorted: O(n log n), where a join
    per point would be quadratic when a whole cohort's timers fire at once."""
    ordered = sorted(firings, key=lambda f: f.at)
    inside: Counter[str] = Counter()
    start = end = 0
    counts: dict[datetime, int] = {}
    for point in sorted(set(points)):
        while end < len(ordered) and ordered[end].at <= point:
            inside[ordered[end].customer_id] += 1
            end += 1
        while start < end and ordered[start].at < point - window:
            customer = ordered[start].customer_id
            inside[customer] -= 1
            if not inside[customer]:
                del inside[customer]
            start += 1
        counts[point] = len(inside)
    return counts


def windows_holding(
    news: Iterable[datetime], firings: Sequence[Firing], window: timedelta
) -> list[datetime]:
    """The ends of the windows that hold a new firing: its own time, and every firing's
    time up to a window after it (a late firing completes those windows too)."""
    times = sorted(f.at for f in firings)
    ends = set(news)
    for new in sorted(ends):
        first = bisect.bisect_right(times, new)
        last = bisect.bisect_right(times, new + window)
        ends.update(times[first:last])
    return sorted(ends)


@dataclass(frozen=True, slots=True)
class FiringCount:
    """A firing, and how many distinct customers fired within the window ending at it."""

    rule: str
    product_id: str
    at: datetime
    customers: int


def count_firings(
    remembered: Sequence[Firing], new: Sequence[Firing], window: timedelta
) -> list[FiringCount]:
    """For each new firing, the distinct customers of its rule and product in the
    window ending at it, and at every later firing a window holds it in too (a late
    firing completes those windows)."""
    by_key: dict[tuple[str, str], list[Firing]] = {}
    for firing in [*remembered, *new]:
        by_key.setdefault((firing.rule, firing.product_id), []).append(firing)
    news: dict[tuple[str, str], set[datetime]] = {}
    for firing in new:
        news.setdefault((firing.rule, firing.product_id), set()).add(firing.at)
    return [
        FiringCount(rule, product, at, customers)
        for (rule, product), ats in sorted(news.items())
        for at, customers in distinct_customers_in_windows(
            by_key[(rule, product)],
            windows_holding(ats, by_key[(rule, product)], window),
            window,
        ).items()
    ]


def firings(raises: list[Raise]) -> list[Firing]:
    """The firings that count towards systemic friction (product-level, not systemic)."""
    return [
        Firing(r.rule, r.product_id, r.customer_id, r.at)
        for r in raises
        if r.product_id is not None
        and r.customer_id is not None
        and r.rule != config.SYSTEMIC_FRICTION
    ]


def systemic_key(rule: str, product_id: str | None) -> str:
    return dedup_key(config.SYSTEMIC_FRICTION, None, product_id, rule)


def systemic_signals(
    counts: list[FiringCount],
    active: Mapping[str, Alert],
    watermark: datetime | None,
    rules: FrictionRules,
) -> list[Signal]:
    """Raises and clears of systemic alerts, in event-time order.

    `active` holds the open systemic alerts by dedup key; `watermark` is how far event
    time has come, for clearing alerts that went quiet.
    """
    window = rules.systemic_window
    # dedup key -> (last seen, product, rule that fired widely)
    last_seen = {
        key: (alert.last_seen, alert.product_id, alert.scope) for key, alert in active.items()
    }
    signals: list[Signal] = []

    def clear_quiet(until: datetime) -> None:
        for key, (seen, product, scope) in sorted(last_seen.items()):
            if seen + window <= until:
                signals.append(
                    Clear(
                        config.SYSTEMIC_FRICTION,
                        None,
                        product,
                        seen + window,
                        f"{scope} no longer widespread for {human_duration(window)}",
                        scope=scope,
                    )
                )
                del last_seen[key]

    for count in sorted(counts, key=lambda c: (c.at, c.rule, c.product_id)):
        clear_quiet(count.at)
        if count.customers < rules.systemic_customers:
            continue
        signals.append(
            Raise(
                config.SYSTEMIC_FRICTION,
                None,
                count.product_id,
                rules.systemic_severity,
                count.at,
                (),
                f"{count.rule} fired for {count.customers} customers of {count.product_id} "
                f"within {human_duration(window)}",
                scope=count.rule,
            )
        )
        key = systemic_key(count.rule, count.product_id)
        last_seen[key] = (count.at, count.product_id, count.rule)
    if watermark is not None:
        clear_quiet(watermark)
    return signals
