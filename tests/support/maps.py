"""Read the stored maps back for assertions."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.state_json import Json


async def stored_maps(
    engine: AsyncEngine,
) -> tuple[dict[tuple[str, str], Json], dict[str, Json]]:
    async with engine.connect() as conn:
        journeys = await conn.execute(text("SELECT customer_id, product_id, state FROM journeys"))
        journey_docs = {(row[0], row[1]): _doc(row[2]) for row in journeys}
        experiences = await conn.execute(text("SELECT customer_id, state FROM experiences"))
        experience_docs = {row[0]: _doc(row[1]) for row in experiences}
    return journey_docs, experience_docs


def _doc(value: object) -> Json:
    parsed = orjson.loads(value) if isinstance(value, str | bytes) else value
    assert isinstance(parsed, dict)
    return parsed


async def wait_until_consumed(engine: AsyncEngine, *, within_seconds: float = 60.0) -> None:
    """Until the stored consumer offset reaches the end of the embedded log."""
    deadline = asyncio.get_running_loop().time() + within_seconds
    while True:
        async with engine.connect() as conn:
            head = await conn.scalar(text("SELECT position FROM event_log_head"))
            done = await conn.scalar(
                text("SELECT greatest(coalesce(max(last_offset), 0), 0) FROM consumer_offsets")
            )
        if head is not None and done is not None and done >= head:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"aggregator stuck at {done} of {head}")
        await asyncio.sleep(0.02)
