"""The Kafka log, producer side: durable appends with a deadline and a bounded buffer.

The producer is idempotent by default (so `acks=all`): a retried batch is never
written twice.
Idempotent sends never expire by themselves, so every append has a deadline; when
the broker is unreachable or slow the append fails with LogUnavailable within it.
Events still in flight are counted, and past `max_pending` new appends are refused
at once, so an outage cannot grow the process without bound. After an append failed,
others are refused at once for `backoff` seconds, then one probe at a time tries
until one succeeds, so clients learn of an outage without each waiting out the
deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaProducer

from shared.log.interface import LogEntry, LogRejected, LogUnavailable
from shared.log.kafka_connection import PRODUCER_START_SECONDS, KafkaConnection
from shared.log.kafka_errors import is_retriable_kafka_error
from shared.throttled_log import ThrottledLog

logger = logging.getLogger(__name__)

# How long readiness trusts the broker's last answer, and waits for a new one.
READY_FOR_SECONDS = 2.0
READY_TIMEOUT_SECONDS = 2.0


class KafkaLogWriter:
    def __init__(
        self,
        connection: KafkaConnection,
        topic: str,
        *,
        send_timeout: float = 1.5,
        max_pending: int = 50_000,
        linger_ms: int = 5,
        compression: str | None = "lz4",
        ensure_topics: Callable[[], Awaitable[None]] | None = None,
        backoff: float = 1.0,
    ) -> None:
        self._connection = connection
        self._topic = topic
        self._send_timeout = send_timeout
        self._max_pending = max_pending
        self._linger_ms = linger_ms
        self._compression = compression
        self._ensure_topics = ensure_topics
        self._backoff = backoff
        self._failing = False
        self._failing_until = float("-inf")
        self._probing = False
        self._producer: AIOKafkaProducer | None = None
        self._starting: asyncio.Task[None] | None = None
        self._pending = 0
        self._reachable_until = float("-inf")
        self._retired: list[asyncio.Task[None]] = []
        # During an outage every send fails: one line per kind a minute, with a count.
        self._warnings = ThrottledLog(logger)
        # Why the producer could not connect last time, for readiness.
        self._unconnected = "connecting"

    @property
    def pending(self) -> int:
        """Events handed to the producer and not yet acknowledged or failed."""
        return self._pending

    async def start(self) -> None:
        # A broker that is down at start-up must not keep ingest from starting: it
        # answers 503 until the producer is connected.
        self._starting = asyncio.create_task(self._connect(), name="kafka-producer-start")

    async def _connect(self) -> None:
        delay = 0.2
        while True:
            producer = AIOKafkaProducer(
                **{
                    **self._connection.producer_options("ingest"),
                    # A request outliving the append's deadline would only hold a buffer.
                    "request_timeout_ms": max(1000, int(self._send_timeout * 1000)),
                },
                linger_ms=self._linger_ms,
                compression_type=self._compression,
            )
            try:
                if self._ensure_topics is not None:
                    await self._ensure_topics()
                async with asyncio.timeout(PRODUCER_START_SECONDS):
                    await producer.start()
            except Exception as error:
                await producer.stop()
                self._unconnected = await self._connection.explain(error, producer=True)
                self._warnings.warning(
                    "connect", "Kafka producer cannot start yet: %s", self._unconnected
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._producer = producer
            logger.info("Kafka producer connected to %s", self._connection.describe())
            return

    async def stop(self) -> None:
        for retired in self._retired:
            with contextlib.suppress(Exception):
                await retired
        self._retired.clear()
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
            self._starting = None
        if self._producer is not None:
            # Flushes what is buffered, waiting at most for the producer's own timeout.
            await self._producer.stop()
            self._producer = None

    async def check_ready(self) -> None:
        """Ready when the brokers answered a metadata request in the last moments."""
        producer = self._producer
        if producer is None:
            raise LogUnavailable(f"not connected to Kafka yet: {self._unconnected}")
        loop = asyncio.get_running_loop()
        if loop.time() < self._reachable_until:
            return
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await producer.client.fetch_all_metadata()
        except Exception as error:
            raise LogUnavailable(f"Kafka does not answer: {error!r}") from error
        self._reachable_until = loop.time() + READY_FOR_SECONDS

    async def append(self, entries: Sequence[LogEntry]) -> None:
        producer = self._producer
        if producer is None:
            raise LogUnavailable("not connected to Kafka yet")
        if self._pending + len(entries) > self._max_pending:
            raise LogUnavailable(
                f"{self._pending} events are waiting for Kafka; refusing more until it recovers"
            )
        loop = asyncio.get_running_loop()
        probe = False
        if self._failing:
            if loop.time() < self._failing_until or self._probing:
                raise LogUnavailable("Kafka did not answer moments ago; retry shortly")
            self._probing = probe = True
        try:
            await self._append(producer, entries)
        except LogRejected:
            self._failing = True
            self._failing_until = loop.time() + self._backoff
            self._replace(producer)
            raise
        except LogUnavailable:
            self._failing = True
            self._failing_until = loop.time() + self._backoff
            raise
        else:
            self._failing = False
        finally:
            if probe:
                self._probing = False

    async def _append(self, producer: AIOKafkaProducer, entries: Sequence[LogEntry]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._send_timeout
        try:
            # Cancelling a send() that waits for metadata or buffer space unsends it.
            async with asyncio.timeout_at(deadline):
                deliveries = [await self._send(producer, entry) for entry in entries]
        except TimeoutError as error:
            raise LogUnavailable("Kafka did not take the events in time") from error
        except Exception as error:
            raise _classified(error) from error
        # asyncio.wait leaves the deliveries running (and counted) when time runs out.
        done, waiting = await asyncio.wait(deliveries, timeout=max(0.0, deadline - loop.time()))
        if waiting:
            raise LogUnavailable("Kafka did not acknowledge the events in time")
        for delivery in done:
            failure = delivery.exception()
            if failure is not None:
                raise _classified(failure) from failure

    def _replace(self, producer: AIOKafkaProducer) -> None:
        """After a refusal an idempotent producer's sequence numbers no longer match the
        broker's, and every later send would be refused too: connect a new producer (a
        new producer id) and let the old one go."""
        current = self._producer
        if current is None or current is not producer:
            return  # replaced already, by an append that failed at the same time
        self._producer = None
        self._retired.append(asyncio.create_task(current.stop(), name="kafka-producer-retire"))
        self._starting = asyncio.create_task(self._connect(), name="kafka-producer-restart")

    async def _send(self, producer: AIOKafkaProducer, entry: LogEntry) -> asyncio.Future[object]:
        delivery: asyncio.Future[object] = await producer.send(
            self._topic, value=entry.value, key=entry.key
        )
        self._pending += 1
        delivery.add_done_callback(self._delivered)
        return delivery

    def _delivered(self, delivery: asyncio.Future[object]) -> None:
        self._pending -= 1
        if not delivery.cancelled() and delivery.exception() is not None:
            # The caller may have given up already; the failure must still be seen.
            self._warnings.warning("send", "a Kafka send failed: %r", delivery.exception())


def _classified(error: BaseException) -> LogUnavailable | LogRejected:
    if is_retriable_kafka_error(error):
        return LogUnavailable(f"Kafka is unavailable: {type(error).__name__}")
    return LogRejected(f"Kafka refused the events: {error!r}")
