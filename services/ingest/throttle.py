"""Per-key rate limits: one token bucket of events per write key, in this process."""

from __future__ import annotations

import math

from services.ingest.errors import RequestRefused
from shared.ratelimit import Decision, TokenBucket
from shared.web.auth import Principal


def rate_headers(decision: Decision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(math.ceil(decision.reset_after)),
    }


class Throttle:
    def __init__(self, rate_per_second: float, burst: int) -> None:
        self._default = (rate_per_second, burst)
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, principal: Principal, events: int, now: float) -> Decision:
        """Spend `events` tokens of the key's bucket, or refuse with 429 and Retry-After."""
        rate = principal.rate_per_second or self._default[0]
        burst = principal.burst or self._default[1]
        bucket = self._buckets.get(principal.key_name)
        if bucket is None or (bucket.rate, bucket.capacity) != (rate, burst):
            bucket = self._buckets[principal.key_name] = TokenBucket(rate, burst, now)
        if events > burst:
            raise RequestRefused(
                413,
                "batch_over_rate_limit",
                f"{events} events in one request, but this key may send at most {burst} "
                "at once; send smaller batches",
            )
        decision = bucket.take(events, now)
        if not decision.allowed:
            raise RequestRefused(
                429,
                "rate_limited",
                f"rate limit of {rate:g} events/s for this key reached; "
                f"retry after {math.ceil(decision.retry_after)} s",
                headers={
                    **rate_headers(decision),
                    "Retry-After": str(max(1, math.ceil(decision.retry_after))),
                },
            )
        return decision
