"""A log that restarts empty under the stored offsets: the partition stops, readiness
says why, nothing acknowledged is skipped, and `journeymap offsets reset` goes on.

Over the wire with the real aiokafka client against the project's test broker, which
is restarted empty on the same port (as a broker that lost its data, or a cluster
rebuilt under the same address).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_topics import ensure_topics
from shared.schemas.log_event import LogEvent
from tests.kafka_broker import KafkaTestBroker
from tests.support.kafka_log import (
    AFTER,
    BEFORE,
    DLQ,
    TOPIC,
    entries_of,
    kafka_aggregator,
    running,
    started_writer,
    stopped_reason,
    touchpoint_count,
    wait_for_touchpoints,
)
from tests.support.polling import eventually
from tests.support.process import clean_env, run_cli
from tests.support.server import free_port


async def fresh_broker(port: int) -> KafkaTestBroker:
    broker = KafkaTestBroker(port=port, auto_create_topics=False)
    await broker.start()
    await ensure_topics(
        KafkaConnection(broker.bootstrap), [TOPIC, DLQ], partitions=1, replication_factor=1
    )
    return broker


async def append(broker: KafkaTestBroker, events: list[LogEvent]) -> int:
    async with started_writer(broker, max_pending=5000) as writer:
        await writer.append(entries_of(events))
    return len(events)


@pytest.mark.allow_error_logs
@pytest.mark.timeout(180)
async def test_a_log_restarted_empty_stops_the_partition_until_an_operator_resets_it(
    engine: AsyncEngine, clean_database: str
) -> None:
    port = free_port()
    broker = await fresh_broker(port)
    try:
        first = await append(broker, BEFORE)
        aggregator = kafka_aggregator(engine, KafkaConnection(broker.bootstrap))
        async with running(aggregator):
            await wait_for_touchpoints(engine, first)
    finally:
        await broker.stop()

    broker = await fresh_broker(port)  # the same address, an empty log
    try:
        later = await append(broker, AFTER)
        aggregator = kafka_aggregator(engine, KafkaConnection(broker.bootstrap))
        async with running(aggregator):
            reason = await eventually(lambda: stopped_reason(aggregator), within=30)
            assert "partition 0 stopped" in reason
            assert "the log ends at 3" in reason
            # Held, not skipped: nothing after the stored offset went into the maps.
            assert await touchpoint_count(engine) == first

            env = clean_env(
                JOURNEYMAP_DATABASE_URL=clean_database,
                JOURNEYMAP_LOG="kafka",
                JOURNEYMAP_KAFKA_BOOTSTRAP=broker.bootstrap,
                JOURNEYMAP_KAFKA_TOPIC=TOPIC,
                JOURNEYMAP_CONSUMER_GROUP="g",
            )
            # The broker answers from this event loop: the command runs beside it.
            shown = await asyncio.to_thread(run_cli, "offsets", "show", env=env)
            assert shown.returncode == 0, shown.stderr
            assert "0\t11\t0\t3\tSTOPPED" in shown.stdout
            reset = await asyncio.to_thread(
                run_cli, "offsets", "reset", "--partition", "0", "--to", "earliest", env=env
            )
            assert reset.returncode == 0, reset.stderr
            assert "go on after offset -1" in reset.stdout

            await wait_for_touchpoints(engine, first + later)
            assert await stopped_reason(aggregator) is None
        assert await touchpoint_count(engine) == first + later
    finally:
        await broker.stop()
