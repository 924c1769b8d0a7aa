"""On Tansu, an independent Kafka implementation: a topic deleted and recreated under
a running aggregator stops its partition instead of skipping acknowledged events, and
a broker that cannot give out producer ids is named as the reason ingest is not ready.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_writer import KafkaLogWriter
from tests.support.kafka_brokers import TANSU, kafka_connection_to
from tests.support.kafka_log import (
    AFTER,
    BEFORE,
    DLQ,
    EVENTS,
    TOPIC,
    connected_writer,
    entries_of,
    kafka_aggregator,
    running,
    stopped_reason,
    touchpoint_count,
    unready_because,
    wait_for_touchpoints,
)
from tests.support.polling import eventually
from tests.support.process import clean_env, run_cli


async def recreate(connection: KafkaConnection, topic: str) -> None:
    admin = AIOKafkaAdminClient(**connection.options("test-admin"))
    await admin.start()
    try:
        await admin.delete_topics([topic])

        async def gone() -> bool | None:
            return topic not in await admin.list_topics() or None

        await eventually(gone, within=30)
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()


@pytest.mark.allow_error_logs
@pytest.mark.timeout(180)
async def test_a_topic_recreated_under_a_running_aggregator_stops_its_partition(
    engine: AsyncEngine, clean_database: str, tmp_path: Path
) -> None:
    async with kafka_connection_to(TANSU, tmp_path, [TOPIC, DLQ], partitions=1) as connection:
        aggregator = kafka_aggregator(engine, connection)
        async with running(aggregator):
            async with connected_writer(connection, max_pending=5000) as writer:
                await writer.append(entries_of(BEFORE))
            await wait_for_touchpoints(engine, len(BEFORE))

            await recreate(connection, TOPIC)
            async with connected_writer(connection, max_pending=5000) as writer:
                await writer.append(entries_of(AFTER))

            reason = await eventually(lambda: stopped_reason(aggregator), within=60)
            assert "partition 0 stopped" in reason
            assert await touchpoint_count(engine) == len(BEFORE)

            env = clean_env(
                JOURNEYMAP_DATABASE_URL=clean_database,
                JOURNEYMAP_LOG="kafka",
                JOURNEYMAP_KAFKA_BOOTSTRAP=connection.bootstrap,
                JOURNEYMAP_KAFKA_TOPIC=TOPIC,
                JOURNEYMAP_CONSUMER_GROUP="g",
                JOURNEYMAP_KAFKA_ENABLE_IDEMPOTENCE="false",
            )
            reset = await asyncio.to_thread(
                run_cli, "offsets", "reset", "--partition", "0", "--to", "earliest", env=env
            )
            assert reset.returncode == 0, reset.stderr
            await wait_for_touchpoints(engine, len(EVENTS))
            assert await stopped_reason(aggregator) is None
        assert await touchpoint_count(engine) == len(EVENTS)


@pytest.mark.allow_error_logs  # aiokafka logs the refused InitProducerId itself
async def test_an_idempotent_producer_on_a_broker_without_producer_ids_names_the_setting(
    tmp_path: Path,
) -> None:
    async with kafka_connection_to(TANSU, tmp_path, [TOPIC]) as connection:
        writer = KafkaLogWriter(KafkaConnection(connection.bootstrap), TOPIC)
        await writer.start()
        try:
            reason = await unready_because(writer, "no producer id")
        finally:
            await writer.stop()
    assert "JOURNEYMAP_KAFKA_ENABLE_IDEMPOTENCE=false" in reason
