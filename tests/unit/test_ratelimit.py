from __future__ import annotations

import pytest

from shared.ratelimit import TokenBucket


def test_a_burst_passes_then_the_rate_holds() -> None:
    bucket = TokenBucket(rate_per_second=10, capacity=100, now=0.0)

    assert bucket.take(100, now=0.0).allowed
    refused = bucket.take(5, now=0.0)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.5)
    assert bucket.take(5, now=0.5).allowed


def test_the_bucket_refills_to_its_capacity_only() -> None:
    bucket = TokenBucket(rate_per_second=10, capacity=100, now=0.0)
    bucket.take(100, now=0.0)

    decision = bucket.take(1, now=1000.0)

    assert decision.allowed
    assert decision.remaining == 99
    assert decision.reset_after == pytest.approx(0.1)


def test_a_refusal_spends_nothing() -> None:
    bucket = TokenBucket(rate_per_second=1, capacity=10, now=0.0)
    bucket.take(8, now=0.0)

    assert not bucket.take(5, now=0.0).allowed
    assert bucket.take(2, now=0.0).allowed
