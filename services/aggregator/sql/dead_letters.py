"""Poison records kept as rows, in the batch transaction: kept exactly once."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.aggregator.decode import Poison


async def keep(conn: asyncpg.Connection, poison: Sequence[Poison]) -> None:
    await conn.executemany(
        "INSERT INTO dead_letters (reason, payload, topic, log_partition, log_offset) "
        "VALUES ($1, $2, $3, $4, $5)",
        [
            (p.reason, p.record.value or b"", p.record.topic, p.record.partition, p.record.offset)
            for p in poison
        ],
    )
