"""Consumer offsets stored in PostgreSQL, in the same transaction as the maps."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.errors import JourneymapError

NO_OFFSET = -1


class StaleConsumer(JourneymapError):
    """Another reader advanced the stored offset first: this batch must not commit."""

    retriable = True


async def load_offsets(
    engine: AsyncEngine, group_id: str, topic: str, partitions: Sequence[int]
) -> dict[int, int]:
    """The last processed offset per partition, creating missing rows at NO_OFFSET."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO consumer_offsets (group_id, topic, partition, last_offset) "
                "SELECT :group_id, :topic, p, :none FROM unnest(CAST(:partitions AS int[])) AS p "
                "ON CONFLICT DO NOTHING"
            ),
            {
                "group_id": group_id,
                "topic": topic,
                "partitions": list(partitions),
                "none": NO_OFFSET,
            },
        )
        rows = await conn.execute(
            text(
                "SELECT partition, last_offset FROM consumer_offsets "
                "WHERE group_id = :group_id AND topic = :topic "
                "AND partition = ANY(CAST(:partitions AS int[]))"
            ),
            {"group_id": group_id, "topic": topic, "partitions": list(partitions)},
        )
        return {int(row.partition): int(row.last_offset) for row in rows}
