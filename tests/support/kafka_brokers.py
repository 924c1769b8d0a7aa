"""The Kafka brokers the distributed tests run against: the project's test broker and
Tansu, behind one interface (address, fault injection, the services' settings).

The test broker runs idempotent producers; Tansu cannot (it hands out no producer
ids), so against it journeymap runs with JOURNEYMAP_KAFKA_ENABLE_IDEMPOTENCE=false and
JOURNEYMAP_KAFKA_ACKS=all. Tansu acknowledges a produce request to an unknown topic
by creating the topic with its own default partition count: a test that writes
before journeymap created its topics has them created first (`topics`).
Tansu runs behind a TcpProxy, which it advertises, so that a test can cut it off.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_topics import ensure_topics
from tests.kafka_broker import KafkaTestBroker
from tests.support.distributed import broker_process
from tests.support.tansu import tansu_broker
from tests.support.tcp_proxy import TcpProxy

TEST_BROKER = "test-broker"
TANSU = "tansu"
BROKERS = [TEST_BROKER, TANSU]


@dataclass
class Broker:
    """A running broker, as the tests see it."""

    name: str
    bootstrap: str
    idempotence: bool
    refuse: Callable[[], Awaitable[None]]
    """An outage: refuse connections and drop the open ones."""
    accept: Callable[[], Awaitable[None]]
    """The end of the outage: the same address accepts connections again."""

    @property
    def service_env(self) -> dict[str, str]:
        """The journeymap settings a service needs for this broker."""
        if self.idempotence:
            return {}
        return {"JOURNEYMAP_KAFKA_ENABLE_IDEMPOTENCE": "false", "JOURNEYMAP_KAFKA_ACKS": "all"}

    def connection(self, **options: Any) -> KafkaConnection:
        """How the test itself connects, with the same durability as the services."""
        return KafkaConnection(self.bootstrap, enable_idempotence=self.idempotence, **options)


@contextlib.asynccontextmanager
async def kafka_broker(
    name: str, log_dir: Path, *, partitions: int = 4, topics: Sequence[str] = ()
) -> AsyncIterator[Broker]:
    """Run broker `name` (TEST_BROKER or TANSU) as a process until the block ends.

    journeymap's services create the topics they use (JOURNEYMAP_KAFKA_CREATE_TOPICS
    is "auto"). The test broker creates a topic on first use with `partitions`
    partitions; on Tansu, `topics` are created up front with `partitions` partitions.
    """
    if name == TEST_BROKER:
        async with broker_process(partitions=partitions) as process:

            async def refuse() -> None:
                await process.command("refuse")

            async def accept() -> None:
                await process.command("accept")

            yield Broker(name, process.bootstrap, True, refuse, accept)
    elif name == TANSU:
        async with tansu_broker(log_dir, front=TcpProxy) as tansu:
            broker = Broker(name, tansu.bootstrap, False, tansu.refuse, tansu.accept)
            if topics:
                await ensure_topics(
                    broker.connection(), list(topics), partitions=partitions, replication_factor=1
                )
            try:
                yield broker
            finally:
                # Shown with the output of a failing test.
                print(f"--- tansu log ({tansu.log_path}) ---\n{tansu.log()}")
    else:
        raise ValueError(f"unknown broker {name!r}")


@contextlib.asynccontextmanager
async def kafka_connection_to(
    name: str, log_dir: Path, topics: Sequence[str], *, partitions: int = 4
) -> AsyncIterator[KafkaConnection]:
    """A broker for in-process clients: the test broker in this event loop, which
    creates no topic by itself, or Tansu as a process; `topics` are created on it.
    Yields how to connect, idempotent where the broker supports it."""
    if name == TEST_BROKER:
        async with KafkaTestBroker(auto_create_topics=False) as test_broker:
            connection = KafkaConnection(test_broker.bootstrap)
            await ensure_topics(
                connection, list(topics), partitions=partitions, replication_factor=1
            )
            yield connection
    elif name == TANSU:
        async with tansu_broker(log_dir) as tansu:
            connection = KafkaConnection(tansu.bootstrap, enable_idempotence=False)
            await ensure_topics(
                connection, list(topics), partitions=partitions, replication_factor=1
            )
            try:
                yield connection
            finally:
                print(f"--- tansu log ({tansu.log_path}) ---\n{tansu.log()}")
    else:
        raise ValueError(f"unknown broker {name!r}")


async def topic_partitions(
    connection: KafkaConnection, topic: str, *, within: float = 30
) -> list[int]:
    """The partitions of `topic`, once it exists (waiting up to `within` seconds)."""
    return await _partitions(connection, topic, asyncio.get_running_loop().time() + within)


async def read_records(
    connection: KafkaConnection, topic: str, count: int, *, within: float = 30
) -> list[Any]:
    """The first `count` records of every partition of `topic`, read from the start
    without a consumer group (aiokafka ConsumerRecords, in partition and offset order).
    Waits up to `within` seconds for them to be there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    partitions = await _partitions(connection, topic, deadline)
    consumer = AIOKafkaConsumer(
        **connection.options("test-reader"), enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        records: list[Any] = []
        while len(records) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{len(records)} of {count} records on {topic!r} after {within} s"
                )
            batches = await consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
            for batch in batches.values():
                records.extend(batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def _partitions(connection: KafkaConnection, topic: str, deadline: float) -> list[int]:
    """The partitions of `topic`, once it exists."""
    loop = asyncio.get_running_loop()
    admin = AIOKafkaAdminClient(**connection.options("test-admin"))
    await admin.start()
    try:
        while True:
            (described,) = await admin.describe_topics([topic])
            if described["error_code"] == 0 and described["partitions"]:
                return sorted(p["partition"] for p in described["partitions"])
            if loop.time() > deadline:
                raise AssertionError(f"topic {topic!r} does not exist: {described}")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
