"""The aggregator loop: read a batch, decode it, persist it with its offsets, repeat.

Transient failures (the database restarting, a lost connection) retry the same batch
with exponential backoff: the stored offsets did not move, so nothing is counted twice.
A stale reader (another member advanced the offsets) drops the batch and rewinds.
Anything else stops the loop loudly.
"""

from __future__ import annotations

import asyncio
import logging

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
)

from services.aggregator.batch import BatchOutcome, BatchProcessor
from services.aggregator.decode import Decoded, Poison, decode
from services.aggregator.poison_guard import PoisonGuard
from shared.clock import Clock
from shared.db.errors import is_data_error
from shared.db.offsets import StaleConsumer
from shared.domain.batch import Triggered
from shared.log.interface import EventLogReader, LogBatch
from shared.metrics import Metrics
from shared.transient import is_transient

logger = logging.getLogger(__name__)


def _is_retriable(error: BaseException) -> bool:
    return is_transient(error) and not isinstance(error, StaleConsumer)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning("aggregator step failed (attempt %d), retrying: %r", state.attempt_number, error)


def _retrying() -> AsyncRetrying:
    """Retry transient failures for ever, backing off up to 5 s between attempts."""
    return AsyncRetrying(
        retry=retry_if_exception(_is_retriable),
        wait=wait_exponential(multiplier=0.1, max=5.0),
        before_sleep=_log_retry,
        reraise=True,
    )


class Aggregator:
    def __init__(
        self,
        reader: EventLogReader,
        processor: BatchProcessor,
        metrics: Metrics,
        clock: Clock,
        *,
        batch_max: int,
        max_wait_seconds: float = 0.5,
        poison_guard: PoisonGuard | None = None,
    ) -> None:
        self._reader = reader
        self._processor = processor
        self._metrics = metrics
        self._clock = clock
        self._batch_max = batch_max
        self._max_wait_seconds = max_wait_seconds
        self._poison_guard = poison_guard or PoisonGuard()
        self.caught_up = asyncio.Event()
        self._lag_observed_at = float("-inf")

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in hand is finished first."""
        async for attempt in _retrying():
            with attempt:
                await self._reader.start()
        try:
            while not stop.is_set():
                batch = await self._read()
                lag = await self._observe_lag()
                if not batch.records:
                    await self._tick(lag)
                    self.caught_up.set()
                    continue
                self.caught_up.clear()
                await self._handle(batch)
        finally:
            await self._reader.stop()
            await self._processor.close()

    async def _handle(self, batch: LogBatch) -> None:
        started = asyncio.get_running_loop().time()
        decoded = decode(batch.records)
        self._poison_guard.check(batch.records, decoded.poison)
        try:
            try:
                outcome = await self._persist(batch, decoded)
            except Exception as error:
                if not is_data_error(error):
                    raise
                logger.warning("the database refused a value in this batch: %r", error)
                outcome = await self._one_by_one(batch)
        except StaleConsumer as stale:
            logger.warning("dropping batch: %s", stale)
            self._metrics.aggregator_batches.labels("stale").inc()
            await self._reader.rewind()
            return
        await self._reader.committed(batch)
        self._observe(outcome, asyncio.get_running_loop().time() - started)

    async def _one_by_one(self, batch: LogBatch) -> BatchOutcome:
        """Persist record by record, dead-lettering the ones the database refuses."""
        starts = dict(batch.start_offsets)
        outcomes: list[BatchOutcome] = []
        for record in batch.records:
            single = LogBatch([record], {record.partition: starts[record.partition]})
            try:
                outcomes.append(await self._persist(single, decode([record])))
            except Exception as error:
                if not is_data_error(error):
                    raise
                refused = Decoded(poison=[Poison(record, f"the database refused it: {error}")])
                outcomes.append(await self._persist(single, refused))
            starts[record.partition] = record.offset
        return BatchOutcome.combine(outcomes)

    async def _read(self) -> LogBatch:
        async for attempt in _retrying():
            with attempt:
                return await self._reader.read(self._batch_max, self._max_wait_seconds)
        raise AssertionError("unreachable: AsyncRetrying reraises")

    async def _persist(self, batch: LogBatch, decoded: Decoded) -> BatchOutcome:
        # A retry repeats the same batch: its offsets were not stored, so nothing doubles.
        async for attempt in _retrying():
            with attempt:
                return await self._processor.process(batch, decoded, self._clock.now())
        raise AssertionError("unreachable: AsyncRetrying reraises")

    async def _observe_lag(self) -> dict[int, int] | None:
        """The lag per partition, measured at most once a second (it costs a round trip)."""
        now = asyncio.get_running_loop().time()
        if now - self._lag_observed_at < 1.0:
            return None
        self._lag_observed_at = now
        try:
            lag = await self._reader.lag()
        except Exception as error:  # the gauge is best effort; reading goes on
            logger.warning("could not measure consumer lag: %r", error)
            return None
        # Partitions move between members: report only the ones this reader has now.
        self._metrics.consumer_lag.clear()
        for partition, records in lag.items():
            self._metrics.consumer_lag.labels(str(partition)).set(records)
        # A stored offset the log does not follow is not lag: it has its own gauge.
        self._metrics.offset_gap.clear()
        for partition, gap in self._reader.stopped().items():
            self._metrics.offset_gap.labels(str(partition), gap.kind).set(gap.records)
        return lag

    def check_offsets(self) -> None:
        """Readiness: raise while a partition is stopped at an offset the log does not follow."""
        stopped = self._reader.stopped()
        if stopped:
            raise RuntimeError(
                "; ".join(f"partition {p} stopped: {gap.reason}" for p, gap in stopped.items())
            )

    async def _tick(self, lag: dict[int, int] | None) -> None:
        """Caught up and idle: let the wall clock fire the due timers of those partitions."""
        if lag is None:
            return
        idle = {
            partition: offset
            for partition, offset in self._reader.committed_positions().items()
            if lag.get(partition) == 0
        }
        if not idle:
            return
        try:
            async for attempt in _retrying():
                with attempt:
                    triggered = await self._processor.tick(idle, self._clock.now())
        except StaleConsumer as stale:
            logger.warning("skipping timers: %s", stale)
            await self._reader.rewind()
            return
        self._count_alerts(triggered)

    def _count_alerts(self, triggered: list[Triggered]) -> None:
        for alert in triggered:
            self._metrics.alerts_raised.labels(alert.rule, alert.severity).inc()
            if alert.backfill:
                self._metrics.alerts_backfilled.labels(alert.rule).inc()

    def _observe(self, outcome: BatchOutcome, seconds: float) -> None:
        metrics = self._metrics
        metrics.aggregator_batches.labels("committed").inc()
        metrics.aggregator_batch_seconds.observe(seconds)
        metrics.aggregator_events.labels("applied").inc(len(outcome.new))
        metrics.aggregator_events.labels("duplicate").inc(outcome.duplicates)
        metrics.aggregator_events.labels("dead_lettered").inc(outcome.poison)
        metrics.journey_rebuilds.inc(outcome.rebuilt_journeys)
        metrics.identity_merges_refused.inc(outcome.identity_merges_refused)
        self._count_alerts(outcome.alerts_triggered)
        now = self._clock.now()
        for touchpoint in outcome.new:
            metrics.event_to_map_seconds.observe((now - touchpoint.received_at).total_seconds())
