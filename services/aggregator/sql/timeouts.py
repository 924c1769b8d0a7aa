"""Journey timeouts: the latest journey of a customer and product is abandoned when its
partition's event time passes its last touchpoint by the inactivity window.

A timeout row is written with the journey that armed it; the watermark (or, when the
partition is idle, the wall clock) fires it. Firing marks the journey abandoned, which
changes the figures it contributes (it is now a drop-off, and its last touchpoint a
bounce).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import asyncpg

from shared.domain.stored import Timeout


async def arm(conn: asyncpg.Connection, timeouts: Iterable[Timeout]) -> None:
    rows = list(timeouts)
    if rows:
        await conn.execute(
            "INSERT INTO journey_timeouts (customer_id, product_id, instance, partition, "
            "due_at) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], "
            "$5::timestamptz[]) ON CONFLICT (customer_id, product_id) DO UPDATE SET "
            "instance = EXCLUDED.instance, partition = EXCLUDED.partition, "
            "due_at = EXCLUDED.due_at",
            [t.customer_id for t in rows],
            [t.product_id for t in rows],
            [t.instance for t in rows],
            [t.partition for t in rows],
            [t.due_at for t in rows],
        )


async def disarm(conn: asyncpg.Connection, keys: Iterable[tuple[str, str]]) -> None:
    wanted = list(keys)
    if wanted:
        await conn.execute(
            "DELETE FROM journey_timeouts WHERE (customer_id, product_id) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[]))",
            [k[0] for k in wanted],
            [k[1] for k in wanted],
        )


async def due(
    conn: asyncpg.Connection, watermarks: Mapping[int, datetime], limit: int
) -> list[Timeout]:
    """The earliest `limit` timeouts of these partitions that their watermark passed.
    The rest wait for the next batch or tick, so a cohort timing out at once never
    loads all its journeys in one transaction."""
    if not watermarks:
        return []
    rows = await conn.fetch(
        "SELECT t.customer_id, t.product_id, t.instance, t.partition, t.due_at "
        "FROM journey_timeouts t "
        "JOIN unnest($1::int[], $2::timestamptz[]) AS w(partition, watermark) "
        "ON t.partition = w.partition AND t.due_at <= w.watermark "
        "ORDER BY t.due_at LIMIT $3",
        list(watermarks),
        list(watermarks.values()),
        limit,
    )
    return [
        Timeout(r["customer_id"], r["product_id"], r["instance"], r["partition"], r["due_at"])
        for r in rows
    ]


async def take(conn: asyncpg.Connection, taken: Iterable[Timeout]) -> None:
    """Remove these timeouts, each only while it is still due when it was read: a
    writer that re-armed one since keeps its own."""
    rows = list(taken)
    if rows:
        await conn.execute(
            "DELETE FROM journey_timeouts WHERE (customer_id, product_id, due_at) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]))",
            [t.customer_id for t in rows],
            [t.product_id for t in rows],
            [t.due_at for t in rows],
        )


async def next_due(conn: asyncpg.Connection, partitions: Iterable[int]) -> datetime | None:
    due: datetime | None = await conn.fetchval(
        "SELECT min(due_at) FROM journey_timeouts WHERE partition = ANY($1::int[])",
        list(partitions),
    )
    return due
