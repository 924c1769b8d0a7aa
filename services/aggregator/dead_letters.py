"""Where poison records go: the dead_letters table (embedded log) or a Kafka topic."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaProducer

from services.aggregator.decode import Poison
from services.aggregator.sql import dead_letters
from shared.log.kafka_connection import PRODUCER_START_SECONDS, KafkaConnection
from shared.log.kafka_errors import KafkaStartError


class DeadLetterSink(Protocol):
    async def send(self, conn: asyncpg.Connection, poison: Sequence[Poison]) -> None:
        """Keep the poison records; `conn` is the batch transaction."""
        ...

    async def stop(self) -> None: ...


class TableDeadLetters:
    """Dead letters as rows, written in the batch transaction: kept exactly once."""

    async def stop(self) -> None:
        """Nothing to release."""

    async def send(self, conn: asyncpg.Connection, poison: Sequence[Poison]) -> None:
        if not poison:
            return
        await dead_letters.keep(conn, poison)


class KafkaDeadLetters:
    """Dead letters on a Kafka topic, with the reason and origin in headers.

    They are produced before the batch transaction commits, so a batch that is
    retried may dead-letter a record twice: at least once, never lost.
    """

    def __init__(self, connection: KafkaConnection, topic: str) -> None:
        self._connection = connection
        self._topic = topic
        self._producer: AIOKafkaProducer | None = None

    async def _started(self) -> AIOKafkaProducer:
        """The producer, started on first use (and made in the running loop)."""
        if self._producer is None:
            producer = AIOKafkaProducer(**self._connection.producer_options("dead-letters"))
            try:
                async with asyncio.timeout(PRODUCER_START_SECONDS):
                    await producer.start()
            except Exception as error:
                await producer.stop()
                raise KafkaStartError(
                    await self._connection.explain(error, producer=True)
                ) from error
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(self, conn: asyncpg.Connection, poison: Sequence[Poison]) -> None:
        if not poison:
            return
        producer = await self._started()
        deliveries = [
            await producer.send(
                self._topic,
                value=p.record.value or b"",
                key=p.record.key,
                headers=[
                    ("reason", p.reason.encode()),
                    ("source.topic", p.record.topic.encode()),
                    ("source.partition", str(p.record.partition).encode()),
                    ("source.offset", str(p.record.offset).encode()),
                ],
            )
            for p in poison
        ]
        await asyncio.gather(*deliveries)
