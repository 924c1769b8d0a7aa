"""The embedded event log: a PostgreSQL table with contiguous, in-order positions.

One writer task per process group-commits every pending append in one transaction.
Each transaction takes its positions by updating the single head row, whose row lock
it holds until commit, so transactions from any number of writers commit in position
order: a reader that has seen position N has seen every position below it, and can
never skip an acknowledged event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.engine import driver_connection
from shared.db.offsets import load_offsets
from shared.log.interface import LogBatch, LogEntry, LogRecord, LogUnavailable
from shared.log.offset_check import OffsetGap

logger = logging.getLogger(__name__)

TOPIC = "touchpoints"
PARTITION = 0


class PostgresLogWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_max: int = 5000,
        max_pending: int = 100_000,
        append_timeout: float = 5.0,
    ) -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._max_pending = max_pending
        self._append_timeout = append_timeout
        self._queue: deque[tuple[Sequence[LogEntry], asyncio.Future[None]]] = deque()
        self._pending = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._held: AsyncConnection | None = None
        self._held_driver: asyncpg.Connection | None = None

    @property
    def pending(self) -> int:
        return self._pending

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="postgres-log-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        # The writer finishes what is queued, then returns (a forced shutdown may have
        # cancelled it already: that is not an error of stopping).
        self._stopping = True
        self._wakeup.set()
        await asyncio.wait({self._task})
        self._task = None
        await self._drop_connection()

    async def check_ready(self) -> None:
        if self._task is None or self._task.done():
            raise LogUnavailable("the log writer is not running")

    async def append(self, entries: Sequence[LogEntry]) -> None:
        if not entries:
            return
        if self._task is None or self._task.done() or self._stopping:
            raise LogUnavailable("the log writer is not running")
        if self._pending + len(entries) > self._max_pending:
            raise LogUnavailable("the log writer is saturated; retry shortly")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entries, done))
        self._pending += len(entries)
        self._wakeup.set()
        try:
            # A timeout cancels only this wait: entries already queued may still be
            # written (the client retries, and the aggregator drops the duplicates).
            async with asyncio.timeout(self._append_timeout):
                await done
        except TimeoutError as exc:
            raise LogUnavailable("the log did not confirm the append in time") from exc

    async def _run(self) -> None:
        while self._queue or not self._stopping:
            if not self._queue:
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            await self._write_group(self._take_group())

    def _take_group(self) -> list[tuple[Sequence[LogEntry], asyncio.Future[None]]]:
        group = [self._queue.popleft()]
        size = len(group[0][0])
        while self._queue and size + len(self._queue[0][0]) <= self._batch_max:
            group.append(self._queue.popleft())
            size += len(group[-1][0])
        return group

    async def _write_group(
        self, group: list[tuple[Sequence[LogEntry], asyncio.Future[None]]]
    ) -> None:
        entries = [entry for request_entries, _ in group for entry in request_entries]
        try:
            await self._write(entries)
        except Exception as exc:
            logger.warning("log append of %d events failed: %s", len(entries), exc)
            failure = LogUnavailable(f"the event log is unavailable: {type(exc).__name__}")
            for _, done in group:
                if not done.done():
                    done.set_exception(failure)
        else:
            for _, done in group:
                if not done.done():
                    done.set_result(None)
        finally:
            self._pending -= len(entries)

    async def _write(self, entries: Sequence[LogEntry]) -> None:
        reused = self._held_driver is not None
        try:
            await self._insert(await self._connection(), entries)
        except Exception:
            await self._drop_connection()
            if not reused:
                raise
            # The held connection may have died since its last use (PostgreSQL
            # restarted, or ended the session), which shows as any of several errors
            # depending on how far asyncpg got in noticing: one more try on a new
            # connection. Should the first attempt have committed after all, its
            # entries are in the log twice, and the aggregator drops the repeats.
            await self._insert(await self._connection(), entries)

    async def _connection(self) -> asyncpg.Connection:
        # The writer holds one connection: a pool checkout would add a ping before and
        # a rollback after every group, three round trips where one will do.
        if self._held_driver is not None:
            if not self._held_driver.is_closed():
                return self._held_driver
            await self._drop_connection()
        self._held = await self._engine.connect()
        self._held_driver = await driver_connection(self._held)
        return self._held_driver

    async def _drop_connection(self) -> None:
        held, self._held, self._held_driver = self._held, None, None
        if held is not None:
            with contextlib.suppress(Exception):
                await held.invalidate()
            with contextlib.suppress(Exception):
                await held.close()

    @staticmethod
    async def _insert(driver: asyncpg.Connection, entries: Sequence[LogEntry]) -> None:
        # One statement in its own transaction: a single round trip per group, where
        # BEGIN, UPDATE, COPY and COMMIT took five. It holds the head row's lock until
        # it commits, so groups still commit in position order.
        await driver.execute(
            "WITH head AS (UPDATE event_log_head SET position = position + $1 "
            "WHERE id = 1 RETURNING position) "
            "INSERT INTO event_log (position, key, value) "
            "SELECT head.position - $1 + e.n, e.key, e.value "
            "FROM head, unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS e(key, value, n)",
            len(entries),
            [e.key for e in entries],
            [e.value for e in entries],
        )


class PostgresLogReader:
    topic = TOPIC

    def __init__(self, engine: AsyncEngine, group_id: str, *, idle_seconds: float = 0.05) -> None:
        self._engine = engine
        self._group_id = group_id
        self._idle_seconds = idle_seconds
        self._next_after: int | None = None
        self._committed: int | None = None

    async def start(self) -> None:
        await self.rewind()

    async def stop(self) -> None:
        self._next_after = self._committed = None

    async def rewind(self) -> None:
        stored = await load_offsets(self._engine, self._group_id, TOPIC, [PARTITION])
        self._next_after = self._committed = stored[PARTITION]

    def committed_positions(self) -> dict[int, int]:
        return {} if self._committed is None else {PARTITION: self._committed}

    async def read(self, max_records: int, max_wait_seconds: float) -> LogBatch:
        if self._next_after is None:
            raise RuntimeError("reader is not started")
        start = self._next_after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait_seconds
        while True:
            records = await self._fetch(start, max_records)
            if records or loop.time() >= deadline:
                break
            await asyncio.sleep(min(self._idle_seconds, max(0.0, deadline - loop.time())))
        if records:
            self._next_after = records[-1].offset
        return LogBatch(records=records, start_offsets={PARTITION: start})

    async def committed(self, batch: LogBatch) -> None:
        self._committed = batch.end_offsets.get(PARTITION, self._committed)

    async def _fetch(self, after: int, limit: int) -> list[LogRecord]:
        async with self._engine.connect() as conn:
            driver = await driver_connection(conn)
            rows = await driver.fetch(
                "SELECT position, key, value FROM event_log "
                "WHERE position > $1 ORDER BY position LIMIT $2",
                after,
                limit,
            )
        return [
            LogRecord(
                topic=TOPIC,
                partition=PARTITION,
                offset=row["position"],
                key=row["key"],
                value=row["value"],
            )
            for row in rows
        ]

    def stopped(self) -> dict[int, OffsetGap]:
        """Never any: the log and the offsets live in one database and move together."""
        return {}

    async def lag(self) -> dict[int, int]:
        async with self._engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            head = await conn.fetchval("SELECT position FROM event_log_head WHERE id = 1")
        return {PARTITION: max(0, int(head) - (self._next_after or 0))}
