"""The first and next offsets of each partition of a topic, asked of the brokers by
clients outside any group (so asking moves no one's offsets)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.log.kafka_connection import KafkaConnection


async def log_bounds(connection: KafkaConnection, topic: str) -> dict[int, tuple[int, int]]:
    """Per partition: (first offset the log holds, offset after its last record)."""
    tps = [TopicPartition(topic, p) for p in await _partitions(connection, topic)]
    consumer = AIOKafkaConsumer(**connection.options("offsets"), enable_auto_commit=False)
    try:
        await consumer.start()
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {tp.partition: (starts[tp], ends[tp]) for tp in tps}


async def _partitions(connection: KafkaConnection, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**connection.options("admin"))
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(
        p["partition"] for t in described if t["topic"] == topic for p in t["partitions"]
    )
    if not partitions:
        raise LookupError(f"the topic {topic!r} does not exist on {connection.describe()}")
    return partitions
