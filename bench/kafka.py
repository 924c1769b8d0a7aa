"""Kafka mode: ingest to Kafka through the test broker, against the producer alone.

`journeymap ingest` (distributed mode) takes batches of 100 events from `wrk`; the
baseline is aiokafka's producer, configured as journeymap's (idempotent, acks=all,
lz4, 5 ms linger), sending the same records to the same broker. The topic must end
up holding every acknowledged event.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import harness, ingest
from bench.population import events
from bench.report import Row
from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_topics import ensure_topics
from shared.schemas.log_event import LogEvent
from tests.support.distributed import broker_process

PARTITIONS = 12


def run(scale: float) -> list[Row]:
    seconds = max(3, round(15 * scale))
    with harness.embedded_postgres() as url:
        return asyncio.run(_measure(url, seconds, max(20_000, int(300_000 * scale))))


async def _measure(url: str, seconds: int, baseline_events: int) -> list[Row]:
    async with broker_process(partitions=PARTITIONS) as broker:
        baseline = await _producer_rate(broker.bootstrap, baseline_events)
        env = harness.service_env(
            url,
            log="kafka",
            kafka_bootstrap=broker.bootstrap,
            kafka_topic="bench",
            # The test broker is a Python process: give it time under 64 connections.
            kafka_send_timeout="10",
            kafka_partitions=str(PARTITIONS),
            rate_limit_per_second="1e9",
            rate_limit_burst="1000000000",
        )
        async with harness.journeymap("ingest", env) as base_url:
            # Ingest waits up to the send timeout for Kafka's acknowledgement.
            rps, completed = await ingest.wrk(base_url, 100, seconds, timeout_seconds=12)
        held = await _topic_size(broker.bootstrap, "bench")
    ingest.check_logged("kafka", held // 100, completed)
    rate = rps * 100
    return [
        Row("Kafka mode: ingest to Kafka (100 events/request)", rate, "ev/s", baseline,
            "aiokafka producer", ">= 0.5 x baseline", rate >= 0.5 * baseline),
    ]  # fmt: skip


def _records(count: int) -> list[tuple[bytes, bytes]]:
    records = []
    for body in events(max(1, count // 20), 20):
        event = LogEvent.model_validate(
            body | {"occurred_at": body["timestamp"], "received_at": body["timestamp"],
                    "source": "bench"}
        )  # fmt: skip
        records.append((event.identity.encode(), event.to_bytes()))
    return records


async def _producer_rate(bootstrap: str, count: int) -> float:
    records = _records(count)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        compression_type="lz4",
    )
    # The same topic shape as journeymap's: 12 partitions, created up front.
    await ensure_topics(
        KafkaConnection(bootstrap), ["baseline"], partitions=PARTITIONS, replication_factor=1
    )
    await producer.start()
    try:
        await (await producer.send("baseline", b"warm-up", key=b"k"))
        with harness.collected_like_the_services():
            start = time.perf_counter()
            for i in range(0, len(records), 1000):
                sent = [
                    await producer.send("baseline", value, key=key)
                    for key, value in records[i : i + 1000]
                ]
                await asyncio.gather(*sent)
            return len(records) / (time.perf_counter() - start)
    finally:
        await producer.stop()


async def _topic_size(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())
    finally:
        await consumer.stop()
