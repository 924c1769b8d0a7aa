"""Recently used customers' states stay in the aggregator's memory, and stay correct.

A cached customer costs no read; a row another writer changed since is read again.
"""

from __future__ import annotations

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.decode import to_touchpoint
from shared.db.state_json import experience_to_json
from shared.domain import experience
from shared.domain.stages import DEFAULT_CATALOGUE
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
