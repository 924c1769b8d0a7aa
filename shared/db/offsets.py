"""Consumer offsets stored in PostgreSQL, in the same transaction as the maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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


async def advance_offsets(
    conn: AsyncConnection,
    group_id: str,
    topic: str,
    start: Mapping[int, int],
    end: Mapping[int, int],
    watermarks: Mapping[int, datetime] | None = None,
) -> None:
    """Move each partition's stored offset from `start` to `end`, or raise StaleConsumer.

    The partition's event-time watermark is stored with it.
    """
    for partition, end_offset in end.items():
        if end_offset == start[partition]:
            continue
        result = await conn.execute(
            text(
                "UPDATE consumer_offsets SET last_offset = :end, updated_at = now(), "
                "watermark = GREATEST(watermark, :watermark) "
                "WHERE group_id = :group_id AND topic = :topic AND partition = :partition "
                "AND last_offset = :start"
            ),
            {
                "group_id": group_id,
                "topic": topic,
                "partition": partition,
                "start": start[partition],
                "end": end_offset,
                "watermark": (watermarks or {}).get(partition),
            },
        )
        if result.rowcount != 1:
            raise _stale(topic, partition, start[partition])


def _stale(topic: str, partition: int, expected: int) -> StaleConsumer:
    return StaleConsumer(
        f"offset of {topic}[{partition}] moved past {expected}: "
        "another reader owns this partition now"
    )


async def stored_watermarks(
    conn: AsyncConnection,
    group_id: str,
    topic: str,
    positions: Mapping[int, int],
    *,
    lock: bool = False,
) -> dict[int, datetime | None]:
    """Each partition's watermark; with `lock`, also check the reader owns the partition.

    Locking holds the offset rows for the transaction and raises StaleConsumer when
    another reader stored a different offset than `positions` says.
    """
    rows = await conn.execute(
        text(
            "SELECT partition, last_offset, watermark FROM consumer_offsets "
            "WHERE group_id = :group_id AND topic = :topic "
            "AND partition = ANY(CAST(:partitions AS int[])) ORDER BY partition"
            + (" FOR UPDATE" if lock else "")
        ),
        {"group_id": group_id, "topic": topic, "partitions": list(positions)},
    )
    found: dict[int, datetime | None] = {}
    for row in rows:
        if lock and row.last_offset != positions[row.partition]:
            raise _stale(topic, row.partition, positions[row.partition])
        found[int(row.partition)] = row.watermark
    return found
