"""An aggregator over the embedded PostgreSQL log, and a way to feed it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.bootstrap import build_aggregator
from services.aggregator.consumer import Aggregator
from services.aggregator.dead_letters import TableDeadLetters
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.log.interface import LogEntry
from shared.log.postgres import PostgresLogReader, PostgresLogWriter
from shared.metrics import Metrics
from shared.schemas.log_event import LogEvent


def table_aggregator(
    engine: AsyncEngine, batch_max: int = 500, clock: Clock | None = None, **settings: Any
) -> Aggregator:
    config = Settings(aggregator_batch_max=batch_max, consumer_group="g", **settings)
    return build_aggregator(
        config,
        engine=engine,
        reader=PostgresLogReader(engine, "g", idle_seconds=0.005),
        dead_letters=TableDeadLetters(),
        metrics=Metrics(),
        clock=clock or SystemClock(),
    )


@contextlib.asynccontextmanager
async def running(aggregator: Aggregator) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(aggregator.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await task


async def append(writer: PostgresLogWriter, events: Sequence[LogEvent], chunk: int = 200) -> None:
    for i in range(0, len(events), chunk):
        await writer.append(
            [LogEntry(key=e.identity.encode(), value=e.to_bytes()) for e in events[i : i + chunk]]
        )
