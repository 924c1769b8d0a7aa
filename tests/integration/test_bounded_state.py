"""A customer's stored state does not grow with their history.

The journey and experience rows hold summaries; the steps are rows of their own. So
the bytes the aggregator reads and rewrites for each event stay the same from the
100th touchpoint to the 2,000th. Asserted on the stored bytes, not on time.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.postgres import PostgresLogWriter
from shared.schemas.log_event import LogEvent
from tests.support.aggregating import append, running, table_aggregator
from tests.support.events import log_event
from tests.support.maps import wait_until_consumed

# A long, varied history: browsing, carts, support contacts and surveys with scores.
HISTORY: itertools.cycle[tuple[str, str, dict[str, Any]]] = itertools.cycle(
    [
        ("product_view", "web", {"sentiment": 0.4}),
        ("search", "web", {}),
        ("add_to_cart", "web", {}),
        ("chat_started", "chat", {"sentiment": -0.3}),
        ("survey_response", "email", {"nps": 8, "csat": 4}),
        ("purchase", "web", {"revenue": "19.99"}),
    ]
)


def history(start: int, count: int) -> list[LogEvent]:
    """`count` touchpoints a minute apart, all within one journey."""
    return [
        log_event(f"e{n}", event_type, n, channel=channel, **fields)
        for n, (event_type, channel, fields) in zip(
            range(start, start + count), HISTORY, strict=False
        )
    ]


async def state_bytes(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT pg_column_size(state) FROM journeys), "
                    "(SELECT pg_column_size(state) FROM experiences), "
                    "(SELECT count(*) FROM journey_steps)"
                )
            )
        ).one()
    return row[0], row[1], row[2]


async def test_a_customer_with_2000_touchpoints_keeps_a_state_of_constant_size(
    engine: AsyncEngine,
) -> None:
    writer = PostgresLogWriter(engine)
    await writer.start()
    try:
        async with running(table_aggregator(engine)):
            await append(writer, history(0, 100))
            await wait_until_consumed(engine)
            journey_at_100, experience_at_100, steps_at_100 = await state_bytes(engine)
            await append(writer, history(100, 1900))
            await wait_until_consumed(engine)
            journey_at_2000, experience_at_2000, steps_at_2000 = await state_bytes(engine)
    finally:
        await writer.stop()

    assert (steps_at_100, steps_at_2000) == (100, 2000)
    # Counters gain a digit or two; nothing grows with the number of touchpoints.
    assert journey_at_2000 - journey_at_100 <= 16, (journey_at_100, journey_at_2000)
    assert experience_at_2000 - experience_at_100 <= 16, (experience_at_100, experience_at_2000)
    assert journey_at_2000 < 2048
    assert experience_at_2000 < 1024
