"""Recently used customers' states stay in the aggregator's memory, and stay correct.

A cached customer costs no read; a row another writer changed since is read again.
"""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.batch import BatchProcessor
from services.aggregator.bootstrap import build_processor
from services.aggregator.dead_letters import TableDeadLetters
from services.aggregator.decode import decode, to_touchpoint
from services.aggregator.errors import ConcurrentMapUpdate
from shared.clock import SystemClock
from shared.config import Settings
from shared.db.offsets import load_offsets
from shared.db.state_json import experience_to_json
from shared.domain import experience
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.log.interface import LogBatch, LogRecord
from shared.log.postgres import PostgresLogWriter
from shared.schemas.log_event import LogEvent
from tests.support.aggregating import append, running, table_aggregator
from tests.support.events import as_stored, expected_maps, log_event
from tests.support.maps import stored_maps, wait_until_consumed

FIRST = [log_event("e1", "product_view", 0), log_event("e2", "add_to_cart", 1)]
LATER = log_event("e3", "purchase", 3)
# What another writer folded in meanwhile: an anonymous visitor's chat, linked to c1
# on another partition.
LINKED = log_event("x1", "chat_started", 2, channel="chat")


async def overwrite_experience(
    engine: AsyncEngine, events: list[LogEvent], *, new_version: bool
) -> None:
    doc = as_stored(
        experience_to_json(
            experience.build("c1", [to_touchpoint(e) for e in events], DEFAULT_CATALOGUE)
        )
    )
    bump = ", version = version + 1" if new_version else ""
    async with engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE experiences SET state = CAST(:doc AS jsonb){bump}"),
            {"doc": orjson.dumps(doc).decode()},
        )


async def test_a_cached_customer_is_not_read_again(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    async with running(table_aggregator(engine)):
        await append(writer, FIRST)
        await wait_until_consumed(engine)
        # The stored document no longer matches what the aggregator saved, without a
        # new version: only an aggregator that reads it again would notice.
        await overwrite_experience(engine, [LINKED], new_version=False)
        await append(writer, [LATER])
        await wait_until_consumed(engine)
    _, experiences = await stored_maps(engine)

    assert experiences["c1"] == expected_maps([*FIRST, LATER])[1]["c1"]


async def test_a_row_another_writer_changed_is_read_again(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    async with running(table_aggregator(engine)):
        await append(writer, FIRST)
        await wait_until_consumed(engine)
        await overwrite_experience(engine, [*FIRST, LINKED], new_version=True)
        await append(writer, [LATER])
        await wait_until_consumed(engine)
    _, experiences = await stored_maps(engine)

    assert experiences["c1"] == expected_maps([*FIRST, LINKED, LATER])[1]["c1"]


async def test_without_a_cache_every_batch_reads_the_stored_rows(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    async with running(table_aggregator(engine, aggregator_hot_customers=0)):
        await append(writer, FIRST)
        await wait_until_consumed(engine)
        await overwrite_experience(engine, [*FIRST, LINKED], new_version=False)
        await append(writer, [LATER])
        await wait_until_consumed(engine)
    _, experiences = await stored_maps(engine)

    assert experiences["c1"] == expected_maps([*FIRST, LINKED, LATER])[1]["c1"]


def one_record(partition: int, offset: int, event: LogEvent) -> LogBatch:
    record = LogRecord("touchpoints", partition, offset, b"c1", event.to_bytes())
    return LogBatch([record], {partition: offset - 1})


async def test_two_writers_of_one_customer_retry_and_count_every_event(
    engine: AsyncEngine,
) -> None:
    """Two aggregators (two partitions) both change c1; the one holding c1 in memory
    finds the other's change at its save, and its retry reads it."""
    await load_offsets(engine, "g", "touchpoints", [0, 1])
    holder, other = (
        build_processor(
            Settings(consumer_group="g"),
            engine=engine,
            dead_letters=TableDeadLetters(),
            topic="touchpoints",
        )
        for _ in range(2)
    )
    first, between, last = FIRST[0], FIRST[1], LATER
    now = SystemClock().now()

    async def process(processor: BatchProcessor, batch: LogBatch) -> None:
        await processor.process(batch, decode(batch.records), now)

    await process(holder, one_record(1, 0, first))
    await process(other, one_record(0, 0, between))
    with pytest.raises(ConcurrentMapUpdate):
        await process(holder, one_record(1, 1, last))
    await process(holder, one_record(1, 1, last))  # the retry
    journeys, experiences = await stored_maps(engine)
    async with engine.connect() as conn:
        positions = [
            row[0]
            for row in await conn.execute(text("SELECT position FROM journey_steps ORDER BY 1"))
        ]

    expected_journeys, expected_experiences = expected_maps([first, between, last])
    assert (journeys, experiences) == (expected_journeys, expected_experiences)
    assert positions == [0, 1, 2]
