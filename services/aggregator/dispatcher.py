"""Deliver alert changes from the outbox to the notifiers, with retries and backoff.

Workers claim one due delivery at a time (`FOR UPDATE SKIP LOCKED`, so several
aggregator processes share the work), send it, record the attempt, and either mark
it delivered, schedule the next attempt with exponential backoff, or, after the
retry budget or a permanent refusal, mark it failed: visible through the API, never
silently lost. A delivery waits while an earlier one for the same alert and
notifier is pending, so a resolve never overtakes its trigger.

The dispatcher also re-sends active alerts to Alertmanager periodically (it forgets
alerts that are not repeated) and refreshes the alert and timer gauges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.notifiers.alertmanager import AlertmanagerNotifier
from services.aggregator.notifiers.base import Notifier, OutgoingRequest, Verdict, judge
from services.aggregator.sql import deliveries
from shared.clock import Clock
from shared.db.engine import driver_connection
from shared.domain.alerts import Severity
from shared.metrics import Metrics
from shared.schemas.alert_event import AlertEvent, alert_view

logger = logging.getLogger(__name__)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds before attempt `attempt + 1`: doubling from `base`, at most `cap`."""
    return float(min(cap, base * 2 ** (attempt - 1)))


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        notifiers: Mapping[str, Notifier],
        min_severity: Mapping[str, Severity],
        metrics: Metrics,
        clock: Clock,
        *,
        base_url: str,
        max_attempts: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        alertmanager_resend_seconds: float,
        workers: int = 4,
        idle_seconds: float = 0.2,
    ) -> None:
        self._engine = engine
        self._notifiers = notifiers
        self._min_severity = min_severity
        self._metrics = metrics
        self._clock = clock
        self._base_url = base_url
        self._max_attempts = max_attempts
        self._backoff = (backoff_seconds, backoff_max_seconds)
        self._resend_seconds = alertmanager_resend_seconds
        self._workers = workers
        self._idle_seconds = idle_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient()
        loops = [self._deliver_loop] * self._workers + [self._housekeeping_loop]
        self._tasks = [asyncio.create_task(loop(), name="alert-dispatcher") for loop in loops]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _deliver_loop(self) -> None:
        while True:
            try:
                worked = await self.deliver_one()
            except Exception as error:  # the database may be away; try again shortly
                logger.warning("alert dispatch failed, retrying: %r", error)
                worked = False
            if not worked:
                await asyncio.sleep(self._idle_seconds)

    async def deliver_one(self) -> bool:
        """Claim and attempt one due delivery; False when there is none."""
        now = self._clock.now()
        async with self._engine.begin() as sa_conn:
            conn = await driver_connection(sa_conn)
            row = await deliveries.claim(conn, now)
            if row is None:
                return False
            notifier = self._notifiers.get(row["notifier"])
            if notifier is None:
                await deliveries.finish(
                    conn, row["id"], "failed", "notifier is no longer configured", None
                )
                return True
            event = AlertEvent.model_validate(row["payload"])
            request = notifier.request(event, row["id"], time.time())
            status_code, verdict, error, seconds = await self._send(notifier, request)
            await deliveries.record_attempt(
                conn, row["id"], now, seconds * 1000, status_code, verdict.value, error
            )
            self._metrics.deliveries.labels(notifier.name, verdict.value).inc()
            attempts = row["attempts"] + 1
            if verdict is Verdict.DELIVERED:
                await deliveries.finish(conn, row["id"], "delivered", None, attempts)
                latency = (self._clock.now() - row["created_at"]).total_seconds()
                self._metrics.delivery_seconds.labels(notifier.name).observe(latency)
            elif verdict is Verdict.REJECTED or attempts >= self._max_attempts:
                await deliveries.finish(conn, row["id"], "failed", error, attempts)
                logger.error(
                    "alert delivery %s to %s failed for good: %s",
                    row["id"],
                    notifier.name,
                    error,
                    extra={"delivery_id": row["id"]},
                )
            else:
                delay = backoff_delay(attempts, *self._backoff)
                await deliveries.reschedule(
                    conn, row["id"], attempts, error, now + timedelta(seconds=delay)
                )
        return True

    async def _send(
        self, notifier: Notifier, request: OutgoingRequest
    ) -> tuple[int | None, Verdict, str | None, float]:
        assert self._client is not None, "dispatcher not started"
        started = time.perf_counter()
        try:
            response = await self._client.post(
                request.url,
                content=request.body,
                headers=request.headers,
                timeout=notifier.timeout_seconds,
            )
        except httpx.HTTPError as error:
            return None, Verdict.RETRY, f"{type(error).__name__}: {error}", _since(started)
        verdict = judge(response.status_code)
        problem = None
        if verdict is not Verdict.DELIVERED:
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
        return response.status_code, verdict, problem, _since(started)

    async def _housekeeping_loop(self) -> None:
        last_resend = float("-inf")
        while True:
            try:
                await self._refresh_gauges()
                if time.monotonic() - last_resend >= self._resend_seconds:
                    await self.resend_to_alertmanager()
                    last_resend = time.monotonic()
            except Exception as error:
                logger.warning("alert housekeeping failed: %r", error)
            await asyncio.sleep(min(5.0, self._resend_seconds))

    async def resend_to_alertmanager(self) -> None:
        """Repeat every active alert to each Alertmanager, as it expects."""
        targets = [n for n in self._notifiers.values() if isinstance(n, AlertmanagerNotifier)]
        if not targets:
            return
        async with self._engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            alerts = await deliveries.active_alerts(conn)
        for target in targets:
            wanted = [
                alert_view(a, self._base_url)
                for a in alerts
                if a.severity.at_least(self._min_severity[target.name])
            ]
            if wanted:
                _, verdict, error, _ = await self._send(target, target.batch(wanted))
                self._metrics.deliveries.labels(target.name, f"resend_{verdict.value}").inc()
                if error:
                    logger.warning("Alertmanager re-send to %s: %s", target.name, error)

    async def _refresh_gauges(self) -> None:
        async with self._engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            counts, timers = await deliveries.gauges(conn)
        for status in ("open", "acknowledged"):
            self._metrics.alerts_active.labels(status).set(counts.get(status, 0))
        self._metrics.timers_pending.set(timers)


def _since(started: float) -> float:
    return time.perf_counter() - started
