"""The Kafka log, consumer side: a consumer group whose offsets live in PostgreSQL.

- Offsets are stored with the maps, in the aggregator's batch transaction. On
  assignment the rebalance listener seeks each partition to its stored offset + 1.
  Kafka's own committed offsets are written after the database commit, for lag
  monitoring only.
- A background poller keeps `getmany` outstanding at all times, also while the
  aggregator processes a batch (partitions are paused then, so nothing more is
  fetched), so a slow batch never costs the group membership.
- On revocation, the listener waits for the batch in hand to commit before the
  partition moves, so the next owner starts where this member stopped.
- A stored offset the log no longer follows (a recreated topic, a log that restarted
  empty, retention past unread records; see offset_check.py) stops its partition: it
  stays paused and readiness fails with the reason, until `journeymap offsets reset`
  stores an offset the log follows; the reader looks again every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError, NoOffsetForPartitionError, OffsetOutOfRangeError
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.offsets import load_positions
from shared.log.interface import LogBatch, LogRecord
from shared.log.kafka_bounds import RecordUnread, record_digests
from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_errors import KafkaStartError, is_retriable_kafka_error
from shared.log.kafka_stop import stop_consumer
from shared.log.offset_check import (
    OffsetGap,
    StoredPosition,
    lost_record,
    position_gap,
    record_digest,
    record_to_check,
    unchecked,
)

logger = logging.getLogger(__name__)

# How long a revoked partition waits for the batch in hand to commit.
REVOKE_WAIT_SECONDS = 10.0
# How often a stopped partition's stored offset is compared with the log again.
RECHECK_SECONDS = 5.0


class KafkaLogReader:
    def __init__(
        self,
        connection: KafkaConnection,
        topic: str,
        group_id: str,
        engine: AsyncEngine,
        *,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        max_poll_interval_ms: int = 300_000,
        batch_max: int = 5000,
        ensure_topics: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.topic = topic
        self._group_id = group_id
        self._engine = engine
        self._batch_max = batch_max
        self._ensure_topics = ensure_topics
        self._connection = connection
        # Partitions whose stored offset the log does not follow: not read until reset.
        self._stopped: dict[int, OffsetGap] = {}
        self._rechecked_at = float("-inf")
        # Per partition: the offset and digest of the last record read, to notice a log
        # that lost it while this reader holds the partition.
        self._last_read: dict[int, tuple[int, bytes]] = {}
        self._verified_at = float("-inf")
        self._consumer_options = {
            **connection.options("aggregator"),
            "group_id": group_id,
            "enable_auto_commit": False,
            # Every position is sought from the stored offsets; a position the log does
            # not hold must stop the partition, never jump to either end of it.
            "auto_offset_reset": "none",
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "max_poll_interval_ms": max_poll_interval_ms,
            "fetch_max_wait_ms": 100,
        }
        self._consumer_instance: AIOKafkaConsumer | None = None
        # Per assigned partition: the last offset handed out, and the last committed.
        self._positions: dict[int, int] = {}
        self._committed: dict[int, int] = {}
        # Fetched batches waiting for the aggregator; fetching pauses while one waits.
        self._ready: asyncio.Queue[LogBatch] = asyncio.Queue()
        self._poller: asyncio.Task[None] | None = None
        # Clear while a handed-out batch is neither committed nor given up.
        self._settled = asyncio.Event()
        self._settled.set()

    @property
    def _consumer(self) -> AIOKafkaConsumer:
        if self._consumer_instance is None:
            raise RuntimeError("the Kafka reader is not started")
        return self._consumer_instance

    async def start(self) -> None:
        if self._ensure_topics is not None:
            try:
                await self._ensure_topics()
            except KafkaError as error:
                raise KafkaStartError(await self._connection.explain(error)) from error
        # aiokafka clients belong to the running loop, so the consumer is made here.
        consumer = AIOKafkaConsumer(**self._consumer_options)
        try:
            await consumer.start()
        except Exception as error:
            await stop_consumer(consumer)
            raise KafkaStartError(await self._connection.explain(error)) from error
        except BaseException:
            await stop_consumer(consumer)
            raise
        self._consumer_instance = consumer
        self._consumer.subscribe([self.topic], listener=_Rebalance(self))
        self._poller = asyncio.create_task(self._poll(), name="kafka-poller")

    async def stop(self) -> None:
        await self._stop_poller()
        if self._consumer_instance is not None:
            consumer, self._consumer_instance = self._consumer_instance, None
            await stop_consumer(consumer)  # leaves the group: the rest rebalance at once

    async def read(self, max_records: int, max_wait_seconds: float) -> LogBatch:
        if self._poller is not None and self._poller.done():
            # The poller stopped on a fatal error: surface it instead of idling for ever.
            self._poller.result()
        try:
            batch = await asyncio.wait_for(self._ready.get(), max_wait_seconds)
        except TimeoutError:
            return LogBatch(records=[], start_offsets={})
        # A partition revoked since the batch was fetched is not ours to store.
        if any(partition not in self._positions for partition in batch.start_offsets):
            await self.rewind()
            return LogBatch(records=[], start_offsets={})
        self._settled.clear()
        return batch

    def committed_positions(self) -> dict[int, int]:
        return {p: self._committed[p] for p in self._positions if p in self._committed}

    async def committed(self, batch: LogBatch) -> None:
        self._settled.set()
        self._committed.update(batch.end_offsets)
        offsets = {
            TopicPartition(self.topic, partition): OffsetAndMetadata(offset + 1, "")
            for partition, offset in batch.end_offsets.items()
        }
        try:
            async with asyncio.timeout(2.0):
                await self._consumer.commit(offsets)
        except Exception as error:  # Kafka's offsets are for lag monitoring only
            logger.info("could not copy offsets to Kafka (monitoring only): %r", error)

    async def rewind(self) -> None:
        self._settled.set()
        await self._stop_poller()
        await self._seek_to_stored(self._consumer.assignment())
        self._poller = asyncio.create_task(self._poll(), name="kafka-poller")

    def stopped(self) -> dict[int, OffsetGap]:
        return dict(self._stopped)

    async def lag(self) -> dict[int, int]:
        lag: dict[int, int] = {}
        for partition, position in list(self._positions.items()):
            highwater = self._consumer.highwater(TopicPartition(self.topic, partition))
            if highwater is not None:
                lag[partition] = max(0, highwater - (position + 1))
        return lag

    async def _stop_poller(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        while not self._ready.empty():
            self._ready.get_nowait()

    async def _poll(self) -> None:
        while True:
            try:
                await self._recheck_stopped()
                await self._verify_running()
                await self._poll_once()
            except NoOffsetForPartitionError:
                # Assigned, and not yet sought by the rebalance listener: it is coming.
                await asyncio.sleep(0.05)
            except OffsetOutOfRangeError as error:
                # The log lost the position while reading (recreated under a running reader).
                for tp, position in error.args[0].items():
                    await self._stop(tp, _out_of_range(position))
            except Exception as error:
                if not is_retriable_kafka_error(error):
                    raise
                logger.warning("Kafka poll failed, polling again: %r", error)
                await asyncio.sleep(0.2)

    async def _poll_once(self) -> None:
        consumer = self._consumer
        if self._ready.empty():
            consumer.resume(*(tp for tp in consumer.paused() if tp.partition not in self._stopped))
        else:
            # A batch waits to be taken: keep polling, but fetch nothing more.
            consumer.pause(*consumer.assignment())
        fetched = await consumer.getmany(timeout_ms=200, max_records=self._batch_max)
        # Whatever comes back is queued, never dropped: the consumer's position has
        # moved past it (a partition assigned during the poll is not paused).
        batch = self._batch(fetched)
        if batch.records:
            self._ready.put_nowait(batch)

    def _batch(self, fetched: dict[TopicPartition, list[object]]) -> LogBatch:
        records: list[LogRecord] = []
        start: dict[int, int] = {}
        for tp, messages in fetched.items():
            if tp.partition not in self._positions or not messages:
                continue
            handed_out = self._positions[tp.partition]
            fresh = [_record(m) for m in messages if m.offset > handed_out]  # type: ignore[attr-defined]
            if not fresh:
                continue
            start[tp.partition] = handed_out
            records.extend(fresh)
            self._positions[tp.partition] = fresh[-1].offset
            self._last_read[tp.partition] = (
                fresh[-1].offset,
                record_digest(fresh[-1].key, fresh[-1].value),
            )
        return LogBatch(records=records, start_offsets=start)

    async def _seek_to_stored(self, partitions: Iterable[TopicPartition]) -> None:
        assigned = [tp for tp in partitions if tp.topic == self.topic]
        if not assigned:
            return
        stored = await load_positions(
            self._engine, self._group_id, self.topic, [tp.partition for tp in assigned]
        )
        try:
            gaps = await self._judge(assigned, stored)
        except Exception as error:  # raised in a rebalance listener, it would stall silently
            for tp in assigned:
                await self._stop(tp, unchecked(error))
            return
        for tp in assigned:
            last = stored[tp.partition]
            gap = gaps[tp]
            if gap is not None:
                await self._stop(tp, gap)
                continue
            if self._stopped.pop(tp.partition, None) is not None:
                logger.warning(
                    "partition %d of %s goes on after offset %d",
                    tp.partition,
                    self.topic,
                    last.offset,
                )
            self._consumer.seek(tp, last.offset + 1)
            self._positions[tp.partition] = last.offset
            self._committed[tp.partition] = last.offset
            if last.digest is not None:
                # Checked again while held, also before this reader reads anything.
                self._last_read[tp.partition] = (last.offset, last.digest)

    async def _judge(
        self, assigned: list[TopicPartition], stored: dict[int, StoredPosition]
    ) -> dict[TopicPartition, OffsetGap | None]:
        """Per partition: why its stored offset cannot go on, or None."""
        starts = await self._consumer.beginning_offsets(assigned)
        ends = await self._consumer.end_offsets(assigned)
        held = await record_digests(
            self._connection,
            {
                tp: stored[tp.partition].offset
                for tp in assigned
                if record_to_check(stored[tp.partition], starts[tp], ends[tp])
            },
        )
        return {
            tp: position_gap(stored[tp.partition], starts[tp], ends[tp], held.get(tp))
            for tp in assigned
        }

    async def _stop(self, tp: TopicPartition, gap: OffsetGap) -> None:
        self._consumer.pause(tp)
        self._last_read.pop(tp.partition, None)
        self._positions.pop(tp.partition, None)
        # Paused, it fetches nothing; a valid position keeps the consumer from asking
        # for an offset reset it is told never to make (without one, polls wait).
        with contextlib.suppress(Exception):
            self._consumer.seek(tp, (await self._consumer.beginning_offsets([tp]))[tp])
        if tp.partition not in self._stopped:
            if gap.kind == "unchecked":
                logger.warning(
                    "partition %d of %s waits: %s; asking again every %.0f s",
                    tp.partition,
                    self.topic,
                    gap.reason,
                    RECHECK_SECONDS,
                )
            else:
                logger.error(
                    "partition %d of %s stopped: %s. Nothing after it is read until an "
                    "operator runs `journeymap offsets reset --partition %d --to "
                    "earliest|latest`",
                    tp.partition,
                    self.topic,
                    gap.reason,
                    tp.partition,
                )
        self._stopped[tp.partition] = gap

    async def _recheck_stopped(self) -> None:
        """Go on with stopped partitions whose stored offset the log now follows."""
        loop = asyncio.get_running_loop()
        if not self._stopped or loop.time() - self._rechecked_at < RECHECK_SECONDS:
            return
        self._rechecked_at = loop.time()
        owned = self._consumer.assignment()
        await self._seek_to_stored([tp for tp in owned if tp.partition in self._stopped])

    async def _verify_running(self) -> None:
        """Stop partitions whose log lost the last record read (a topic recreated under
        this reader: a fetch past the new end may just come back empty)."""
        loop = asyncio.get_running_loop()
        if not self._last_read or loop.time() - self._verified_at < RECHECK_SECONDS:
            return
        self._verified_at = loop.time()
        last = {
            TopicPartition(self.topic, p): read
            for p, read in self._last_read.items()
            if p in self._positions
        }
        try:
            held = await record_digests(
                self._connection, {tp: offset for tp, (offset, _) in last.items()}
            )
        except (RecordUnread, KafkaError) as error:
            logger.info("could not check the last records read, asking again: %r", error)
            return
        for tp, (offset, digest) in last.items():
            if held[tp] != digest and tp.partition in self._positions:  # and not revoked
                await self._stop(tp, lost_record(offset))

    async def _on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        # Let the batch in hand commit, so the next owner starts after it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), REVOKE_WAIT_SECONDS)
        for tp in revoked:
            self._stopped.pop(tp.partition, None)
            self._last_read.pop(tp.partition, None)
            self._positions.pop(tp.partition, None)
            self._committed.pop(tp.partition, None)
        while not self._ready.empty():
            self._ready.get_nowait()

    async def _on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._seek_to_stored(assigned)
        logger.info(
            "assigned partitions %s of %s",
            sorted(tp.partition for tp in assigned),
            self.topic,
        )


def _out_of_range(position: int) -> OffsetGap:
    return OffsetGap(
        "out_of_range",
        0,
        f"the log no longer holds offset {position}: the topic was recreated or the log "
        "restarted empty",
    )


def _record(message: object) -> LogRecord:
    return LogRecord(
        topic=message.topic,  # type: ignore[attr-defined]
        partition=message.partition,  # type: ignore[attr-defined]
        offset=message.offset,  # type: ignore[attr-defined]
        key=message.key,  # type: ignore[attr-defined]
        value=message.value,  # type: ignore[attr-defined]
        headers=tuple(message.headers),  # type: ignore[attr-defined]
    )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, reader: KafkaLogReader) -> None:
        self._reader = reader

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._reader._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._reader._on_assigned(assigned)
