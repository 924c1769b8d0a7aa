"""What checking stored offsets against the log costs the aggregator.

- Per batch: the digest of each partition's last record, stored with its offset,
  against decoding the batch's JSON (which every batch does anyway).
- Per assignment: reading the record at each stored offset, against asking the log
  for its bounds (which every assignment does anyway), on the test broker.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import timeit

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.report import Row
from shared.log.interface import LogBatch, LogRecord
from shared.log.kafka_bounds import record_digests
from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_topics import ensure_topics
from tests.kafka_broker import KafkaTestBroker
from tests.support.events import random_events
from tests.support.kafka_log import TOPIC, connected_writer, entries_of

PARTITIONS = 12
BATCH = 5000


def run(scale: float) -> list[Row]:
    rounds = max(10, round(200 * scale))
    return [_batch_digests(rounds), asyncio.run(_assignment_check(max(5, round(20 * scale))))]


def _batch_digests(rounds: int) -> Row:
    events = random_events(customers=BATCH // 5, per_customer=5)
    records = [
        LogRecord(TOPIC, n % PARTITIONS, n, e.identity.encode(), e.to_bytes())
        for n, e in enumerate(events)
    ]
    batch = LogBatch(records=records, start_offsets=dict.fromkeys(range(PARTITIONS), -1))
    digests = timeit.timeit(lambda: batch.end_digests, number=rounds) / rounds
    decode = timeit.timeit(lambda: [json.loads(r.value or b"") for r in records], number=rounds)
    return Row(
        figure=f"offset digests of a {BATCH:,}-record batch, {PARTITIONS} partitions",
        value=digests * 1e3,
        unit="ms",
        baseline=decode / rounds * 1e3,
        baseline_name="JSON decode of the batch",
        target="(information)",
        meets=True,
    )


async def _assignment_check(rounds: int) -> Row:
    broker = KafkaTestBroker(auto_create_topics=False)
    await broker.start()
    try:
        connection = KafkaConnection(broker.bootstrap)
        await ensure_topics(connection, [TOPIC], partitions=PARTITIONS, replication_factor=1)
        async with connected_writer(connection, max_pending=5000) as writer:
            await writer.append(entries_of(random_events(customers=200, per_customer=5)))
        tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        consumer = AIOKafkaConsumer(**connection.options("bench"), enable_auto_commit=False)
        await consumer.start()
        try:
            ends = await consumer.end_offsets(tps)
            stored = {tp: end - 1 for tp, end in ends.items() if end > 0}
            bounds, checks = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                await consumer.beginning_offsets(tps)
                await consumer.end_offsets(tps)
                bounds.append(time.perf_counter() - started)
                started = time.perf_counter()
                await record_digests(connection, stored)
                checks.append(time.perf_counter() - started)
        finally:
            await consumer.stop()
    finally:
        await broker.stop()
    return Row(
        figure=f"record check on assignment, {len(stored)} partitions (test broker)",
        value=statistics.median(checks) * 1e3,
        unit="ms",
        baseline=statistics.median(bounds) * 1e3,
        baseline_name="log bounds",
        target="(information)",
        meets=True,
    )
