"""A token bucket per API key: a steady rate with room for bursts (time passed in)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int  # bucket capacity
    remaining: int  # whole tokens left after this decision
    retry_after: float  # seconds until `cost` tokens are there (0 when allowed)
    reset_after: float  # seconds until the bucket is full again


class TokenBucket:
    def __init__(self, rate_per_second: float, capacity: int, now: float) -> None:
        self.rate = rate_per_second
        self.capacity = capacity
        self._tokens = float(capacity)
        self._updated = now

    def take(self, cost: int, now: float) -> Decision:
        """Spend `cost` tokens if the bucket holds them."""
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.capacity), self._tokens + elapsed * self.rate)
        self._updated = now
        allowed = cost <= self._tokens
        if allowed:
            self._tokens -= cost
        missing = 0.0 if allowed else cost - self._tokens
        return Decision(
            allowed=allowed,
            limit=self.capacity,
            remaining=math.floor(self._tokens),
            retry_after=missing / self.rate,
            reset_after=(self.capacity - self._tokens) / self.rate,
        )
