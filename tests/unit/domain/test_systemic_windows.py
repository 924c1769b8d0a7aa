"""Distinct customers per sliding window: the one-pass count equals a direct count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.friction.systemic import (
    Firing,
    distinct_customers_in_windows,
    windows_holding,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = timedelta(minutes=10)

firings = st.lists(
    st.builds(
        lambda customer, minute: Firing("r", "p", f"c{customer}", T0 + timedelta(minutes=minute)),
        st.integers(0, 5),
        st.integers(0, 60),
    ),
    max_size=40,
)
points = st.lists(st.integers(0, 70).map(lambda m: T0 + timedelta(minutes=m)), max_size=10)


@given(firings, points)
def test_sliding_counts_equal_direct_counts(fired: list[Firing], at: list[datetime]) -> None:
    counts = distinct_customers_in_windows(fired, at, WINDOW)

    assert counts == {
        point: len({f.customer_id for f in fired if point - WINDOW <= f.at <= point})
        for point in at
    }


def test_a_late_firing_counts_in_the_windows_that_end_after_it() -> None:
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    stored = [Firing("checkout_abandoned", "bike", f"c{n}", start + timedelta(minutes=2 * n))
              for n in range(1, 10)]  # fmt: skip
    late = Firing("checkout_abandoned", "bike", "c0", start)

    ends = windows_holding([late.at], stored, timedelta(hours=1))
    counts = distinct_customers_in_windows([*stored, late], ends, timedelta(hours=1))

    assert max(counts.values()) == 10
    assert counts[late.at] == 1
