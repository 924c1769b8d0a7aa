"""What `rebuild-maps` reads and clears besides the batch's own statements."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def customer_partitions(conn: asyncpg.Connection) -> dict[str, int]:
    """Which partition owns each customer with a timer or a journey timeout."""
    rows = await conn.fetch(
        "SELECT customer_id, partition FROM timers UNION "
        "SELECT customer_id, partition FROM journey_timeouts"
    )
    return {row["customer_id"]: row["partition"] for row in rows}


async def clear_maps(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "TRUNCATE journeys, journey_steps, journey_timeouts, experiences, touch_stats, "
        "hotspot_stats"
    )


async def customers(conn: asyncpg.Connection) -> list[str]:
    return [row[0] for row in await conn.fetch("SELECT DISTINCT customer_id FROM touchpoints")]


async def watermarks(conn: asyncpg.Connection, group_id: str) -> dict[int, datetime]:
    rows = await conn.fetch(
        "SELECT partition, watermark FROM consumer_offsets "
        "WHERE group_id = $1 AND watermark IS NOT NULL",
        group_id,
    )
    return {row["partition"]: row["watermark"] for row in rows}


async def armed_partitions(conn: asyncpg.Connection) -> list[int]:
    return [row[0] for row in await conn.fetch("SELECT DISTINCT partition FROM journey_timeouts")]


async def journey_products(conn: asyncpg.Connection) -> list[str]:
    return [row[0] for row in await conn.fetch("SELECT DISTINCT product_id FROM journeys")]


async def journey_count(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM journeys")
    return count


async def alert_first_touchpoints(conn: asyncpg.Connection) -> list[str]:
    """The touchpoint that opened each stored alert, where it has one."""
    rows = await conn.fetch(
        "SELECT touchpoints->>0 FROM alerts WHERE jsonb_array_length(touchpoints) > 0"
    )
    return [row[0] for row in rows]
