"""The consumer offsets a batch moves, with its partitions' watermarks.

Stored in the batch transaction, so the maps and the offsets commit together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg

from shared.db.offsets import StaleConsumer


async def advance(
    conn: asyncpg.Connection,
    group_id: str,
    topic: str,
    start: Mapping[int, int],
    end: Mapping[int, int],
    digests: Mapping[int, bytes],
    watermarks: Mapping[int, datetime],
) -> None:
    """Move each partition's stored offset from `start` to `end`, or raise StaleConsumer.

    The digest of the record at `end` and the partition's event-time watermark are
    stored with it.
    """
    moved = [p for p, end_offset in sorted(end.items()) if end_offset != start[p]]
    if not moved:
        return
    rows = await conn.fetch(
        "UPDATE consumer_offsets o SET last_offset = m.end_offset, updated_at = now(), "
        "last_digest = m.digest, watermark = GREATEST(o.watermark, m.watermark) "
        "FROM unnest($3::int[], $4::bigint[], $5::bigint[], $6::bytea[], $7::timestamptz[]) "
        "AS m(partition, start_offset, end_offset, digest, watermark) "
        "WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = m.partition "
        "AND o.last_offset = m.start_offset RETURNING o.partition",
        group_id,
        topic,
        moved,
        [start[p] for p in moved],
        [end[p] for p in moved],
        [digests[p] for p in moved],
        [watermarks.get(p) for p in moved],
    )
    stale = sorted(set(moved) - {row["partition"] for row in rows})
    if stale:
        raise stale_consumer(topic, stale[0], start[stale[0]])


def stale_consumer(topic: str, partition: int, expected: int) -> StaleConsumer:
    return StaleConsumer(
        f"offset of {topic}[{partition}] moved past {expected}: "
        "another reader owns this partition now"
    )


async def watermarks(
    conn: asyncpg.Connection,
    group_id: str,
    topic: str,
    positions: Mapping[int, int],
    *,
    lock: bool = False,
) -> dict[int, datetime]:
    """Each partition's watermark; with `lock`, also check the reader owns the partition.

    Locking holds the offset rows for the transaction and raises StaleConsumer when
    another reader stored a different offset than `positions` says.
    """
    rows = await conn.fetch(
        "SELECT partition, last_offset, watermark FROM consumer_offsets "
        "WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[]) ORDER BY partition"
        + (" FOR UPDATE" if lock else ""),
        group_id,
        topic,
        list(positions),
    )
    found: dict[int, datetime] = {}
    for row in rows:
        if lock and row["last_offset"] != positions[row["partition"]]:
            raise stale_consumer(topic, row["partition"], positions[row["partition"]])
        if row["watermark"] is not None:
            found[row["partition"]] = row["watermark"]
    return found
