"""On Tansu, an independent Kafka implementation: a topic deleted and recreated, under
a running aggregator or while none ran, stops its partition instead of skipping
acknowledged events, and
a broker that cannot give out producer ids is named as the reason ingest is not ready.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.kafka_connection import KafkaConnection
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
    offsets_command,
    refill,
    running,
    stopped_reason,
    touchpoint_count,
    wait_for_touchpoints,
)
from tests.support.polling import eventually


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

            await reset_to_earliest(connection, clean_database)
            await wait_for_touchpoints(engine, len(EVENTS))
            assert await stopped_reason(aggregator) is None
        assert await touchpoint_count(engine) == len(EVENTS)


@pytest.mark.allow_error_logs
@pytest.mark.timeout(180)
async def test_a_topic_recreated_and_refilled_while_no_aggregator_ran_stops_its_partition(
    engine: AsyncEngine, clean_database: str, tmp_path: Path
) -> None:
    refilled = refill(len(BEFORE) + 5)
    async with kafka_connection_to(TANSU, tmp_path, [TOPIC, DLQ], partitions=1) as connection:
        async with connected_writer(connection, max_pending=5000) as writer:
            await writer.append(entries_of(BEFORE))
        async with running(kafka_aggregator(engine, connection)):
            await wait_for_touchpoints(engine, len(BEFORE))

        await recreate(connection, TOPIC)
        async with connected_writer(connection, max_pending=5000) as writer:
            await writer.append(entries_of(refilled))  # past the stored offset

        aggregator = kafka_aggregator(engine, connection)
        async with running(aggregator):
            reason = await eventually(lambda: stopped_reason(aggregator), within=60)
            assert f"offset {len(BEFORE) - 1} is not the one the maps read" in reason
            assert await touchpoint_count(engine) == len(BEFORE)

            await reset_to_earliest(connection, clean_database)
            await wait_for_touchpoints(engine, len(BEFORE) + len(refilled))
            assert await stopped_reason(aggregator) is None
        assert await touchpoint_count(engine) == len(BEFORE) + len(refilled)


async def reset_to_earliest(connection: KafkaConnection, database_url: str) -> None:
    await offsets_command(
        database_url,
        connection.bootstrap,
        *("reset", "--partition", "0", "--to", "earliest"),
        JOURNEYMAP_KAFKA_ENABLE_IDEMPOTENCE="false",
    )
