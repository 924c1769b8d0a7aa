"""Statements of the batch path whose guards matter when two writers overlap."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.sql import timeouts
from shared.db.engine import driver_connection
from shared.domain.stored import Timeout
from tests.support.touchpoints import T0


async def stored_timeouts(conn: asyncpg.Connection) -> list[tuple[str, object]]:
    rows = await conn.fetch("SELECT customer_id, due_at FROM journey_timeouts ORDER BY 1")
    return [(row["customer_id"], row["due_at"]) for row in rows]


async def test_a_taken_timeout_another_writer_re_armed_stays(engine: AsyncEngine) -> None:
    due = T0 + timedelta(hours=3)
    read = [Timeout("c1", "p1", 0, 0, due), Timeout("c2", "p1", 0, 0, due)]
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        await timeouts.arm(conn, read)
        # Between this reader's read and its save, c2's journey got a later event.
        await timeouts.arm(conn, [Timeout("c2", "p1", 0, 1, due + timedelta(hours=1))])
        await timeouts.take(conn, read)
        assert await stored_timeouts(conn) == [("c2", due + timedelta(hours=1))]
