"""Consumer offsets stored in PostgreSQL, in the same transaction as the maps."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import driver_connection
from shared.errors import JourneymapError

NO_OFFSET = -1


class StaleConsumer(JourneymapError):
    """Another reader advanced the stored offset first: this batch must not commit."""

    retriable = True


async def load_offsets(
    engine: AsyncEngine, group_id: str, topic: str, partitions: Sequence[int]
) -> dict[int, int]:
    """The last processed offset per partition, creating missing rows at NO_OFFSET."""
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        await conn.execute(
            "INSERT INTO consumer_offsets (group_id, topic, partition, last_offset) "
            "SELECT $1, $2, p, $4 FROM unnest($3::int[]) AS p ON CONFLICT DO NOTHING",
            group_id,
            topic,
            list(partitions),
            NO_OFFSET,
        )
        rows = await conn.fetch(
            "SELECT partition, last_offset FROM consumer_offsets "
            "WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])",
            group_id,
            topic,
            list(partitions),
        )
        return {int(row["partition"]): int(row["last_offset"]) for row in rows}


async def stored_offsets(engine: AsyncEngine, group_id: str, topic: str) -> dict[int, int]:
    """Every partition's stored offset for the group and topic."""
    async with engine.connect() as sa_conn:
        conn = await driver_connection(sa_conn)
        rows = await conn.fetch(
            "SELECT partition, last_offset FROM consumer_offsets "
            "WHERE group_id = $1 AND topic = $2",
            group_id,
            topic,
        )
    return {int(row["partition"]): int(row["last_offset"]) for row in rows}


async def store_offset(
    engine: AsyncEngine, group_id: str, topic: str, partition: int, last_offset: int
) -> None:
    """An operator's decision: the maps go on after `last_offset` of the partition."""
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        await conn.execute(
            "INSERT INTO consumer_offsets (group_id, topic, partition, last_offset) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (group_id, topic, partition) "
            "DO UPDATE SET last_offset = EXCLUDED.last_offset, updated_at = now()",
            group_id,
            topic,
            partition,
            last_offset,
        )
