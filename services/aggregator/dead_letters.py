"""Where poison records go. The embedded log keeps them in the dead_letters table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import asyncpg

from services.aggregator.decode import Poison


class DeadLetterSink(Protocol):
    async def send(self, conn: asyncpg.Connection, poison: Sequence[Poison]) -> None:
        """Keep the poison records; `conn` is the batch transaction."""
        ...


class TableDeadLetters:
    """Dead letters as rows, written in the batch transaction: kept exactly once."""

    async def send(self, conn: asyncpg.Connection, poison: Sequence[Poison]) -> None:
        if not poison:
            return
        await conn.executemany(
            "INSERT INTO dead_letters (reason, payload, topic, log_partition, log_offset) "
            "VALUES ($1, $2, $3, $4, $5)",
            [_row(p) for p in poison],
        )


def _row(poison: Poison) -> tuple[str, bytes, str, int, int]:
    record = poison.record
    return (poison.reason, record.value or b"", record.topic, record.partition, record.offset)
