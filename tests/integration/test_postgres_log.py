"""The embedded event log on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.sql import offsets
from shared.db.engine import create_engine, driver_connection
from shared.db.offsets import StaleConsumer, load_offsets, load_positions
from shared.log.interface import LogEntry, LogUnavailable
from shared.log.offset_check import StoredPosition, record_digest
from shared.log.postgres import PostgresLogReader, PostgresLogWriter
from tests.support.tcp_proxy import TcpProxy, connector_for, via_proxy


def _entries(prefix: str, count: int) -> list[LogEntry]:
    return [LogEntry(key=b"k", value=f"{prefix}-{i}".encode()) for i in range(count)]


async def test_appended_entries_are_read_back_in_order(engine: AsyncEngine) -> None:
    writer = PostgresLogWriter(engine)
    await writer.start()
    reader = PostgresLogReader(engine, "g")
    await reader.start()
    try:
        await writer.append(_entries("a", 3))
        await writer.append(_entries("b", 2))

        batch = await reader.read(100, 1.0)
    finally:
        await writer.stop()

    assert [r.offset for r in batch.records] == [1, 2, 3, 4, 5]
    assert [r.value for r in batch.records] == [b"a-0", b"a-1", b"a-2", b"b-0", b"b-1"]
    assert batch.start_offsets == {0: -1}
    assert batch.end_offsets == {0: 5}


async def test_concurrent_appends_never_let_the_reader_skip_or_repeat(
    clean_database: str,
) -> None:
    """Several writers (as in several processes) hammer the log while a reader follows.

    Every read must continue exactly where the previous one ended (no gap, no repeat),
    and the reader must end up with exactly the acknowledged entries.
    """
    engines = [create_engine(clean_database, pool_size=4) for _ in range(3)]
    writers = [PostgresLogWriter(engine, batch_max=50) for engine in engines]
    reader = PostgresLogReader(engines[0], "g", idle_seconds=0.001)
    for writer in writers:
        await writer.start()
    await reader.start()
    acknowledged: list[bytes] = []
    done = asyncio.Event()

    async def produce(writer: PostgresLogWriter, name: str) -> None:
        rng = random.Random(name)
        for round_number in range(25):
            entries = _entries(f"{name}-{round_number}", rng.randint(1, 15))
            await writer.append(entries)
            acknowledged.extend(entry.value for entry in entries)

    seen: list[bytes] = []
    last = 0  # positions start at 1

    async def follow() -> None:
        nonlocal last
        while True:
            finished = done.is_set()
            batch = await reader.read(37, 0.01)
            if batch.records:
                assert batch.records[0].offset == last + 1, "the reader skipped or repeated"
                offsets = [r.offset for r in batch.records]
                assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
                last = offsets[-1]
                seen.extend(r.value or b"" for r in batch.records)
            elif finished:
                return

    follower = asyncio.create_task(follow())
    try:
        await asyncio.gather(
            *(produce(writer, f"w{w}t{t}") for w, writer in enumerate(writers) for t in range(8))
        )
        done.set()
        await follower
    finally:
        for writer in writers:
            await writer.stop()
        for engine in engines:
            await engine.dispose()

    assert len(seen) == len(acknowledged)
    assert sorted(seen) == sorted(acknowledged)
    assert len(acknowledged) > 1000


async def test_offsets_only_advance_from_where_the_reader_started(engine: AsyncEngine) -> None:
    assert await load_offsets(engine, "g", "t", [0, 1]) == {0: -1, 1: -1}
    digest = record_digest(b"k", b"v")
    async with engine.begin() as conn:
        await offsets.advance(
            await driver_connection(conn), "g", "t", {0: -1, 1: -1}, {0: 10, 1: -1}, {0: digest}, {}
        )

    with pytest.raises(StaleConsumer, match=r"t\[0\] moved past -1"):
        async with engine.begin() as conn:
            await offsets.advance(
                await driver_connection(conn), "g", "t", {0: -1}, {0: 20}, {0: digest}, {}
            )

    assert await load_positions(engine, "g", "t", [0, 1]) == {
        0: StoredPosition(10, digest),
        1: StoredPosition(-1, None),
    }


@pytest.mark.allow_error_logs
async def test_append_fails_fast_when_the_database_is_unreachable(clean_database: str) -> None:
    proxy = TcpProxy(connector_for(clean_database))
    await proxy.start()
    engine = create_engine(via_proxy(clean_database, proxy.port), pool_size=2)
    writer = PostgresLogWriter(engine, append_timeout=2.0)
    await writer.start()
    try:
        await writer.append(_entries("before", 1))
        await proxy.cut()

        with pytest.raises(LogUnavailable):
            await writer.append(_entries("during", 1))

        await proxy.restore()
        await writer.append(_entries("after", 1))
    finally:
        await writer.stop()
        await engine.dispose()
        await proxy.stop()


@pytest.mark.allow_error_logs
async def test_the_writer_replaces_its_connection_when_postgres_drops_it(
    engine: AsyncEngine,
) -> None:
    writer = PostgresLogWriter(engine)
    await writer.start()
    reader = PostgresLogReader(engine, "g")
    await reader.start()
    try:
        await writer.append(_entries("before", 1))
        async with engine.connect() as conn:
            # As a restart of PostgreSQL would: every other session is ended.
            await conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

        await writer.append(_entries("after", 2))

        batch = await reader.read(100, 1.0)
    finally:
        await writer.stop()

    assert [r.value for r in batch.records] == [b"before-0", b"after-0", b"after-1"]
