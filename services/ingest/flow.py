"""The steps every ingest door shares: authenticate, check the origin, limit the rate,
validate each item, append the valid ones durably, and keep the refused ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.ingest.context import IngestContext
from services.ingest.errors import RequestRefused
from services.ingest.models import RejectedEvent
from services.ingest.rejections import Rejection
from services.ingest.throttle import rate_headers
from services.ingest.validate import Convert, validate_items
from shared.log.interface import LogRejected, LogUnavailable
from shared.ratelimit import Decision
from shared.schemas.log_event import LogEvent
from shared.web.auth import Principal

RETRY_AFTER_SECONDS = "1"
# Refusals of unusable requests, which are kept in the rejections store.
KEPT_STATUSES = frozenset({400, 413, 415, 422})


@dataclass(frozen=True, slots=True)
class Accepted:
    events: list[LogEvent]
    rejected: list[RejectedEvent]
    rate: Decision


def origin_allowed(principal: Principal, origin: str) -> bool:
    return "*" in principal.allowed_origins or origin in principal.allowed_origins


class IngestFlow:
    def __init__(self, ctx: IngestContext) -> None:
        self._ctx = ctx

    async def principal(
        self, token: str | None, origin: str | None, *, challenge: str, how: str
    ) -> Principal:
        """The write key's principal; 401 without a valid key, 403 without permission.

        `how` tells the client where this door expects the key.
        """
        auth_header = {"WWW-Authenticate": challenge}
        if not token:
            raise RequestRefused(401, "missing_key", f"missing write key: {how}", auth_header)
        principal = await self._ctx.keys.authenticate(token)
        if principal is None:
            raise RequestRefused(401, "invalid_key", "unknown or revoked write key", auth_header)
        if "write" not in principal.scopes:
            raise RequestRefused(403, "forbidden", "this key lacks the 'write' scope")
        if origin is not None and not origin_allowed(principal, origin):
            raise RequestRefused(
                403,
                "origin_not_allowed",
                f"origin {origin!r} may not send with this key; allow it with "
                "`journeymap keys create --origin`",
            )
        return principal

    async def submit(
        self, principal: Principal, endpoint: str, items: list[Any], convert: Convert
    ) -> Accepted:
        ctx, metrics = self._ctx, self._ctx.metrics
        limit = ctx.settings.max_batch_events
        if len(items) > limit:
            raise RequestRefused(
                413, "too_many_events", f"{len(items)} events in one request; at most {limit}"
            )
        if not items:
            raise RequestRefused(422, "empty_batch", "the batch is empty: send at least one event")
        rate = ctx.throttle.take(principal, len(items), self._seconds())
        validated = validate_items(items, convert, ctx.item_limits)
        received_at = ctx.clock.now()
        if validated.rejected:
            metrics.ingest_events.labels("rejected", "invalid_event").inc(len(validated.rejected))
        await ctx.rejections.record(
            validated.kept, source=principal.key_name, endpoint=endpoint, at=received_at
        )
        if not validated.events:
            # Each event is kept already, and the request paid for them in events.
            raise RequestRefused(
                422, "no_valid_event", "no event was accepted", rate_headers(rate), settled=True
            ).with_rejected(validated.rejected)
        try:
            await ctx.writer.append(validated.entries)
        except (LogUnavailable, LogRejected) as error:
            # The client did nothing wrong either way: it may retry once the log is back.
            code = "log_unavailable" if isinstance(error, LogUnavailable) else "log_refused"
            metrics.ingest_events.labels("rejected", code).inc(len(validated.events))
            raise RequestRefused(
                503,
                code,
                f"{error}; nothing was accepted, retry the whole request",
                {"Retry-After": RETRY_AFTER_SECONDS},
                settled=True,
            ) from error
        metrics.ingest_events.labels("accepted", "").inc(len(validated.events))
        return Accepted(validated.events, validated.rejected, rate)

    async def refused(
        self, principal: Principal | None, endpoint: str, refusal: RequestRefused, body: bytes
    ) -> RequestRefused:
        """Count a refused request and keep it when a known key sent something unusable.

        An unusable request costs its key one event of its rate limit, so a flood of
        junk is throttled like a flood of events, and the rejections store grows no
        faster than the key's rate. Returns what to answer: a 429 once the bucket is
        empty, and then nothing is kept.
        """
        if principal is not None and not refusal.settled and refusal.status in KEPT_STATUSES:
            try:
                rate = self._ctx.throttle.take(principal, 1, self._seconds())
            except RequestRefused as limited:
                refusal = limited
            else:
                refusal.headers.update(rate_headers(rate))
                await self._ctx.rejections.record(
                    [Rejection(None, None, f"{refusal.code}: {refusal.message}", body)],
                    source=principal.key_name,
                    endpoint=endpoint,
                    at=self._ctx.clock.now(),
                )
        self._ctx.metrics.ingest_events.labels("rejected", refusal.code).inc()
        return refusal

    def _seconds(self) -> float:
        return self._ctx.clock.now().timestamp()
