"""Replay determinism: a recorded stream gives the same alerts live-paced and replayed fast."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.bootstrap import build_aggregator
from services.aggregator.dead_letters import TableDeadLetters
from shared.config import Settings
from shared.log.interface import LogEntry
from shared.log.postgres import PostgresLogReader, PostgresLogWriter
from shared.metrics import Metrics
from shared.schemas.log_event import LogEvent
from tests.support.clock import FakeClock
from tests.support.friction_stream import AlertTuple, expected_alerts, recorded_stream
from tests.support.maps import wait_until_consumed
from tests.support.postgres import reset_database


async def stored_alerts(engine: AsyncEngine) -> list[AlertTuple]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT rule, scope, customer_id, product_id, severity, status FROM alerts")
        )
        return sorted((tuple(row) for row in rows), key=repr)  # type: ignore[misc]


async def replay(
    engine: AsyncEngine, events: Sequence[LogEvent], *, chunk: int, batch_max: int, live: bool
) -> list[AlertTuple]:
    """Feed the stream through a fresh aggregator; return the alerts it left."""
    end = max(e.occurred_at for e in events)
    clock = FakeClock(events[0].occurred_at if live else end + timedelta(days=1))
    aggregator = build_aggregator(
        Settings(consumer_group="g", aggregator_batch_max=batch_max),
        engine=engine,
        reader=PostgresLogReader(engine, "g", idle_seconds=0.002),
        dead_letters=TableDeadLetters(),
        metrics=Metrics(),
        clock=clock,
    )
    writer = PostgresLogWriter(engine)
    await writer.start()
    if not live:  # a replay: the whole log is there before the aggregator starts
        for i in range(0, len(events), chunk):
            await writer.append(_entries(events[i : i + chunk]))
    stop = asyncio.Event()
    task = asyncio.create_task(aggregator.run(stop))
    if live:  # live: events arrive a few at a time, the wall clock keeps up with them
        for i in range(0, len(events), chunk):
            part = events[i : i + chunk]
            clock.current = max(e.occurred_at for e in part)
            await writer.append(_entries(part))
            await wait_until_consumed(engine)
        clock.current = end + timedelta(days=1)
    await wait_until_consumed(engine)
    await asyncio.sleep(2.5)  # idle: the wall clock fires what is due (lag is read each second)
    stop.set()
    await task
    await writer.stop()
    return await stored_alerts(engine)


def _entries(events: Sequence[LogEvent]) -> list[LogEntry]:
    return [LogEntry(key=e.identity.encode(), value=e.to_bytes()) for e in events]


async def test_live_and_replayed_streams_give_the_expected_alerts(
    engine: AsyncEngine, clean_database: str
) -> None:
    events = recorded_stream()

    live = await replay(engine, events, chunk=10, batch_max=7, live=True)
    await reset_database(clean_database)
    fast = await replay(engine, events, chunk=1000, batch_max=5000, live=False)

    assert live == expected_alerts()
    assert fast == live
