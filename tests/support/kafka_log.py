"""The Kafka log's clients as the tests drive them: a writer, an aggregator on a
consumer group, and the maps' touchpoint count."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.bootstrap import build_aggregator
from services.aggregator.consumer import Aggregator
from services.aggregator.dead_letters import KafkaDeadLetters
from shared.clock import SystemClock
from shared.config import Settings
from shared.log.interface import LogEntry, LogUnavailable
from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_reader import KafkaLogReader
from shared.log.kafka_writer import KafkaLogWriter
from shared.metrics import Metrics
from shared.schemas.log_event import LogEvent
from tests.kafka_broker import KafkaTestBroker
from tests.support.events import log_event, random_events
from tests.support.polling import eventually
from tests.support.process import clean_env, run_cli

TOPIC = "touchpoints"
DLQ = "touchpoints.dlq"

# One event each for 15 customers: 12 before a log is lost, 3 after.
EVENTS = random_events(customers=15, per_customer=1)
BEFORE = [e for e in EVENTS if int(e.identity.split("-")[1]) < 12]
AFTER = [e for e in EVENTS if e not in BEFORE]


def refill(count: int) -> list[LogEvent]:
    """Events for a log refilled after it was lost: new customers, new event ids."""
    return [
        log_event(f"refill-{n}", "page_view", n, customer_id=f"later-{n}") for n in range(count)
    ]


async def offsets_command(
    database_url: str, bootstrap: str, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    """`journeymap offsets ...` for group g on TOPIC, run beside this event loop (a test
    broker answers from it); `settings` are more JOURNEYMAP_ variables."""
    env = clean_env(
        JOURNEYMAP_DATABASE_URL=database_url,
        JOURNEYMAP_LOG="kafka",
        JOURNEYMAP_KAFKA_BOOTSTRAP=bootstrap,
        JOURNEYMAP_KAFKA_TOPIC=TOPIC,
        JOURNEYMAP_CONSUMER_GROUP="g",
        **settings,
    )
    done = await asyncio.to_thread(run_cli, "offsets", *args, env=env)
    assert done.returncode == 0, done.stderr
    return done


@contextlib.asynccontextmanager
async def started_writer(
    broker: KafkaTestBroker, max_pending: int, backoff: float = 1.0
) -> AsyncIterator[KafkaLogWriter]:
    connection = KafkaConnection(broker.bootstrap)
    async with connected_writer(connection, max_pending, backoff) as writer:
        yield writer


@contextlib.asynccontextmanager
async def connected_writer(
    connection: KafkaConnection, max_pending: int, backoff: float = 1.0
) -> AsyncIterator[KafkaLogWriter]:
    writer = KafkaLogWriter(
        connection,
        TOPIC,
        send_timeout=1.5,
        max_pending=max_pending,
        backoff=backoff,
    )
    await writer.start()
    try:
        await eventually(writer_ready(writer))
        yield writer
    finally:
        await writer.stop()


def writer_ready(writer: KafkaLogWriter) -> Callable[[], Awaitable[bool | None]]:
    async def probe() -> bool | None:
        try:
            await writer.check_ready()
        except LogUnavailable:
            return None
        return True

    return probe


def entries_of(events: Sequence[LogEvent]) -> list[LogEntry]:
    return [LogEntry(key=e.identity.encode(), value=e.to_bytes()) for e in events]


def kafka_aggregator(engine: AsyncEngine, connection: KafkaConnection) -> Aggregator:
    settings = Settings(consumer_group="g", aggregator_batch_max=200)
    return build_aggregator(
        settings,
        engine=engine,
        reader=KafkaLogReader(
            connection,
            TOPIC,
            "g",
            engine,
            # Generous: a busy machine can starve heartbeats for seconds.
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            batch_max=200,
        ),
        dead_letters=KafkaDeadLetters(connection, DLQ),
        metrics=Metrics(),
        clock=SystemClock(),
    )


@contextlib.asynccontextmanager
async def running(aggregator: Aggregator) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(aggregator.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def touchpoint_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM touchpoints")) or 0)


async def wait_for_touchpoints(engine: AsyncEngine, count: int) -> None:
    async def probe() -> bool | None:
        return await touchpoint_count(engine) >= count or None

    await eventually(probe, within=30)


async def stopped_reason(aggregator: Aggregator) -> str | None:
    """Why the aggregator's readiness fails over its offsets, or None while it reads all."""
    try:
        aggregator.check_offsets()
    except RuntimeError as error:
        return str(error)
    return None


async def unready_because(writer: KafkaLogWriter, says: str) -> str:
    """The writer's readiness failure once it says `says` (it must never be ready)."""

    async def explained() -> str | None:
        try:
            await writer.check_ready()
        except LogUnavailable as unready:
            return str(unready) if says in str(unready) else None
        raise AssertionError(f"the writer connected; expected: {says}")

    reason: str = await eventually(explained, within=60)
    return reason
