"""The aggregator over the embedded log on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.bootstrap import build_processor
from services.aggregator.dead_letters import TableDeadLetters
from services.aggregator.decode import decode
from services.aggregator.errors import PoisonFlood
from shared.clock import SystemClock
from shared.config import Settings
from shared.db.offsets import StaleConsumer
from shared.log.interface import LogEntry
from shared.log.postgres import PostgresLogReader, PostgresLogWriter
from shared.schemas.log_event import LogEvent
from tests.support.aggregating import append, running, table_aggregator
from tests.support.events import expected_maps, log_event, random_events
from tests.support.maps import stored_maps, wait_until_consumed


async def assert_maps_match(engine: AsyncEngine, events: Sequence[LogEvent]) -> None:
    journeys, experiences = await stored_maps(engine)
    expected_journeys, expected_experiences = expected_maps(events)
    assert journeys == expected_journeys
    assert experiences == expected_experiences


async def test_events_become_journey_and_experience_maps(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    events = random_events(customers=30, per_customer=20)
    await append(writer, events)

    async with running(table_aggregator(engine, batch_max=97)):
        await wait_until_consumed(engine)

    await assert_maps_match(engine, events)


async def test_duplicates_and_redelivery_count_once(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    events = [log_event("a", "product_view", 0), log_event("b", "purchase", 5)]
    await append(writer, events)
    await append(writer, events[:1])  # a client retry of the same event id
    async with running(table_aggregator(engine)):
        await wait_until_consumed(engine)
    # Replay the whole log from the start, as after losing the offsets.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE consumer_offsets SET last_offset = -1"))
    async with running(table_aggregator(engine)):
        await wait_until_consumed(engine)

    await assert_maps_match(engine, events)
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM touchpoints")) == 2


async def test_a_late_event_is_placed_by_event_time(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    on_time = [log_event("v", "product_view", 10), log_event("p", "purchase", 20)]
    late = [log_event("c", "ad_click", 0)]
    async with running(table_aggregator(engine)):
        await append(writer, on_time)
        await wait_until_consumed(engine)
        await append(writer, late)
        await wait_until_consumed(engine)

    journeys, _ = await stored_maps(engine)
    transitions = [t[1] for t in journeys[("c1", "p1")]["transitions"]]
    assert transitions == ["awareness", "consideration", "decision"]
    await assert_maps_match(engine, on_time + late)


async def test_poison_records_are_dead_lettered_and_the_rest_processed(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    good = [log_event("g1", "product_view", 0), log_event("g2", "add_to_cart", 1)]
    await writer.append([LogEntry(key=b"c1", value=good[0].to_bytes())])
    await writer.append(
        [
            LogEntry(key=b"c1", value=b"{not json"),
            LogEntry(key=b"c1", value=b'{"event_id": "x", "type": "page_view"}'),
            LogEntry(key=b"c1", value=good[1].to_bytes()),
        ]
    )

    async with running(table_aggregator(engine)):
        await wait_until_consumed(engine)

    await assert_maps_match(engine, good)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT log_offset, reason, payload FROM dead_letters ORDER BY log_offset")
            )
        ).all()
    assert [row.log_offset for row in rows] == [2, 3]
    assert "Invalid JSON" in rows[0].reason
    assert "customer_id or anonymous_id" in rows[1].reason or "channel" in rows[1].reason
    assert rows[0].payload == b"{not json"


async def test_a_flood_of_poison_stops_the_aggregator_loudly(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    await writer.append([LogEntry(key=None, value=b"garbage")] * 40)

    with pytest.raises(PoisonFlood):
        async with running(table_aggregator(engine)) as task:
            await task

    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM dead_letters")) == 0


async def test_killing_the_aggregator_anywhere_counts_every_event_once(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    """Cancel the aggregator at random moments (mid-batch included), restart it each time."""
    events = random_events(customers=60, per_customer=40, seed=11)
    await append(writer, events, chunk=300)
    rng = random.Random(3)
    kills = 0
    # A busy machine can take longer than the window to start an aggregator and commit
    # a batch: the window widens after a run without progress, so the test waits on
    # progress, never on the clock.
    window, last_done = 0.08, -1
    while True:
        task = asyncio.create_task(table_aggregator(engine, batch_max=50).run(asyncio.Event()))
        await asyncio.sleep(rng.uniform(0.005, window))
        if task.done():
            task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        kills += 1
        async with engine.connect() as conn:
            done = await conn.scalar(text("SELECT max(last_offset) FROM consumer_offsets"))
        if done == len(events):
            break
        window = 0.08 if (done or -1) > last_done else window * 2
        last_done = done or -1

    assert kills > 3
    await assert_maps_match(engine, events)


async def test_two_readers_of_one_log_never_double_count(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    """A zombie reader racing the rightful one: the offset guard rejects the loser."""
    events = random_events(customers=20, per_customer=30, seed=5)
    await append(writer, events)

    async with (
        running(table_aggregator(engine, batch_max=40)),
        running(table_aggregator(engine, batch_max=40)),
    ):
        await wait_until_consumed(engine)

    await assert_maps_match(engine, events)


async def test_a_zombie_batch_fails_instead_of_double_counting(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    """A member evicted while processing still commits its batch: the offset guard refuses."""
    events = [log_event("z1", "product_view", 0), log_event("z2", "purchase", 1)]
    await append(writer, events)
    reader = PostgresLogReader(engine, "g")
    await reader.start()
    zombie_batch = await reader.read(100, 1.0)
    # Meanwhile the partition's new owner processed the same records.
    async with running(table_aggregator(engine)):
        await wait_until_consumed(engine)
    processor = build_processor(
        Settings(consumer_group="g"),
        engine=engine,
        dead_letters=TableDeadLetters(),
        topic="touchpoints",
    )

    with pytest.raises(StaleConsumer):
        await processor.process(zombie_batch, decode(zombie_batch.records), SystemClock().now())

    await assert_maps_match(engine, events)


async def test_a_value_the_database_refuses_is_dead_lettered_not_fatal(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    """A valid event the database cannot store (year 1 at +14:00 is before year 1 in UTC)."""
    good = [log_event("ok1", "product_view", 0), log_event("ok2", "add_to_cart", 1)]
    unstorable = log_event("bad", "page_view", 0).model_dump(mode="json")
    unstorable["occurred_at"] = "0001-01-01T00:00:00+14:00"
    await writer.append([LogEntry(key=b"c1", value=good[0].to_bytes())])
    await writer.append([LogEntry(key=b"c1", value=orjson.dumps(unstorable))])
    await writer.append([LogEntry(key=b"c1", value=good[1].to_bytes())])

    async with running(table_aggregator(engine)):
        await wait_until_consumed(engine)

    await assert_maps_match(engine, good)
    async with engine.connect() as conn:
        reason = await conn.scalar(text("SELECT reason FROM dead_letters"))
    assert reason.startswith("the database refused it")
