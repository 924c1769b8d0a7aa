"""Consumer offsets stored in PostgreSQL, in the same transaction as the maps."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import driver_connection
from shared.errors import JourneymapError
from shared.log.offset_check import StoredPosition

NO_OFFSET = -1


class StaleConsumer(JourneymapError):
    """Another reader advanced the stored offset first: this batch must not commit."""

    retriable = True


async def load_offsets(
    engine: AsyncEngine, group_id: str, topic: str, partitions: Sequence[int]
) -> dict[int, int]:
    """The last processed offset per partition, creating missing rows at NO_OFFSET."""
    positions = await load_positions(engine, group_id, topic, partitions)
    return {partition: position.offset for partition, position in positions.items()}


async def load_positions(
    engine: AsyncEngine, group_id: str, topic: str, partitions: Sequence[int]
) -> dict[int, StoredPosition]:
    """The last processed offset per partition with its record's digest, creating
    missing rows at NO_OFFSET."""
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
            "SELECT partition, last_offset, last_digest FROM consumer_offsets "
            "WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])",
            group_id,
            topic,
            list(partitions),
        )
        return {int(row["partition"]): _position(row) for row in rows}


async def stored_positions(
    engine: AsyncEngine, group_id: str, topic: str
) -> dict[int, StoredPosition]:
    """Every partition's stored offset, with its record's digest, for the group and topic."""
    async with engine.connect() as sa_conn:
        conn = await driver_connection(sa_conn)
        rows = await conn.fetch(
            "SELECT partition, last_offset, last_digest FROM consumer_offsets "
            "WHERE group_id = $1 AND topic = $2",
            group_id,
            topic,
        )
    return {int(row["partition"]): _position(row) for row in rows}


def _position(row: asyncpg.Record) -> StoredPosition:
    digest = row["last_digest"]
    return StoredPosition(int(row["last_offset"]), None if digest is None else bytes(digest))


async def store_position(
    engine: AsyncEngine, group_id: str, topic: str, partition: int, position: StoredPosition
) -> None:
    """An operator's decision: the maps go on after `position` in the partition."""
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        await conn.execute(
            "INSERT INTO consumer_offsets (group_id, topic, partition, last_offset, last_digest) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id, topic, partition) "
            "DO UPDATE SET last_offset = EXCLUDED.last_offset, "
            "last_digest = EXCLUDED.last_digest, updated_at = now()",
            group_id,
            topic,
            partition,
            position.offset,
            position.digest,
        )
