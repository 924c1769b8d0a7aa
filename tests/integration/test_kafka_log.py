"""The Kafka log adapters over the wire: real aiokafka client, the test broker, PostgreSQL.
The dead-letter topic is also covered on Tansu."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.interface import LogEntry, LogUnavailable
from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_topics import ensure_topics
from shared.log.kafka_writer import KafkaLogWriter
from tests.kafka_broker import KafkaTestBroker
from tests.support.events import expected_maps, log_event, random_events
from tests.support.kafka_brokers import BROKERS, kafka_connection_to, read_records
from tests.support.kafka_log import (
    DLQ,
    TOPIC,
    connected_writer,
    entries_of,
    kafka_aggregator,
    running,
    started_writer,
    touchpoint_count,
    wait_for_touchpoints,
)
from tests.support.maps import stored_maps
from tests.support.polling import eventually

# Longer than any deadline of the writer: past it, an append hangs.
HANG = 10.0


@pytest.fixture
async def broker() -> AsyncIterator[KafkaTestBroker]:
    async with KafkaTestBroker(auto_create_topics=False) as broker:
        await ensure_topics(
            KafkaConnection(broker.bootstrap), [TOPIC, DLQ], partitions=4, replication_factor=1
        )
        yield broker


@pytest.fixture
async def writer(broker: KafkaTestBroker) -> AsyncIterator[KafkaLogWriter]:
    async with started_writer(broker, max_pending=5000) as writer:
        yield writer


async def test_appends_are_keyed_by_customer_across_partitions(
    broker: KafkaTestBroker, writer: KafkaLogWriter
) -> None:
    events = random_events(customers=40, per_customer=5)

    await writer.append(entries_of(events))

    stored = broker.records(TOPIC)
    assert sorted(r.value or b"" for r in stored) == sorted(e.to_bytes() for e in events)
    partitions_of: dict[bytes, set[int]] = {}
    for record in stored:
        partitions_of.setdefault(record.key or b"", set()).add(record.partition)
    assert all(len(partitions) == 1 for partitions in partitions_of.values())
    assert len({r.partition for r in stored}) == 4
    assert writer.pending == 0


async def test_consumer_group_builds_the_maps_with_offsets_in_postgres(
    broker: KafkaTestBroker, writer: KafkaLogWriter, engine: AsyncEngine
) -> None:
    events = random_events(customers=30, per_customer=20, seed=2)
    await writer.append(entries_of(events))
    await writer.append(entries_of(events[:50]))  # the same event ids again: redelivery

    async with running(kafka_aggregator(engine, KafkaConnection(broker.bootstrap))):
        await wait_for_touchpoints(engine, len(events))

        async def offsets_stored() -> bool | None:
            async with engine.connect() as conn:
                total = await conn.scalar(
                    text("SELECT sum(last_offset + 1) FROM consumer_offsets WHERE topic = :t"),
                    {"t": TOPIC},
                )
            return total == len(events) + 50 or None

        await eventually(offsets_stored)

    journeys, experiences = await stored_maps(engine)
    assert (journeys, experiences) == expected_maps(events)
    assert await touchpoint_count(engine) == len(events)
    # Kafka's own committed offsets follow, for lag monitoring.
    committed = sum((broker.committed_offset("g", TOPIC, p) or 0) for p in range(4))
    assert committed == len(events) + 50


@pytest.fixture(params=BROKERS)
async def kafka(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KafkaConnection]:
    """The test broker (idempotent producers) or Tansu (producers not idempotent)."""
    async with kafka_connection_to(request.param, tmp_path, [TOPIC, DLQ]) as connection:
        yield connection


async def test_a_poison_record_goes_to_the_dead_letter_topic(
    kafka: KafkaConnection, engine: AsyncEngine
) -> None:
    before = log_event("before", "product_view", 0)
    after = log_event("after", "add_to_cart", 1)
    async with connected_writer(kafka, max_pending=5000) as writer:
        await writer.append(entries_of([before]))
        await writer.append([LogEntry(key=b"c1", value=b'{"event_id": 7}')])
        await writer.append(entries_of([after]))

    async with running(kafka_aggregator(engine, kafka)):
        await wait_for_touchpoints(engine, 2)

    dead = await read_records(kafka, DLQ, 1)
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert b"event_id" in headers["reason"]
    assert headers["source.topic"] == TOPIC.encode()
    source = next(r for r in await read_records(kafka, TOPIC, 3) if r.value == b'{"event_id": 7}')
    assert headers["source.partition"] == str(source.partition).encode()
    assert headers["source.offset"] == str(source.offset).encode()
    assert dead[0].value == b'{"event_id": 7}'
    journeys, _ = await stored_maps(engine)
    assert journeys[("c1", "p1")]["stage"] == "decision"


@pytest.mark.allow_error_logs  # aiokafka logs each refused connection as an error
async def test_an_unreachable_broker_fails_appends_within_the_deadline_and_bounds_the_buffer(
    broker: KafkaTestBroker,
) -> None:
    async with started_writer(broker, max_pending=120, backoff=0.0) as writer:
        await writer.append(entries_of([log_event("ok", "page_view", 0)]))
        broker.refuse_connections(True)
        loop = asyncio.get_running_loop()

        bounded = 0
        for n in range(6):
            events = [log_event(f"x{n}-{i}", "page_view", 2) for i in range(50)]
            started = loop.time()
            with pytest.raises(LogUnavailable) as refused:
                await writer.append(entries_of(events))
            # The writer gives up after its send timeout; the margin is for a busy machine.
            assert loop.time() - started < HANG
            bounded += "waiting for Kafka" in str(refused.value)
            assert writer.pending <= 120
        assert bounded > 0, "the bounded buffer never refused"

        broker.refuse_connections(False)
        await eventually(_appended(writer), within=30)


@pytest.mark.allow_error_logs
async def test_after_a_failure_appends_fail_fast_until_a_probe_succeeds(
    broker: KafkaTestBroker,
) -> None:
    async with started_writer(broker, max_pending=5000, backoff=1.0) as writer:
        broker.refuse_connections(True)
        with pytest.raises(LogUnavailable, match="in time"):
            await writer.append(entries_of([log_event("a", "page_view", 0)]))

        # "moments ago": refused from the remembered failure, without waiting on Kafka.
        with pytest.raises(LogUnavailable, match="moments ago"):
            await writer.append(entries_of([log_event("b", "page_view", 0)]))

        broker.refuse_connections(False)
        await eventually(_appended(writer), within=30)
        await writer.append(entries_of([log_event("c", "page_view", 0)]))


def _appended(writer: KafkaLogWriter) -> Callable[[], Awaitable[bool | None]]:
    async def probe() -> bool | None:
        try:
            await writer.append(entries_of([log_event("back", "page_view", 3)]))
        except LogUnavailable:
            return None
        return True

    return probe


@pytest.mark.allow_error_logs  # aiokafka logs the failed fetches
async def test_an_aggregator_stops_cleanly_while_the_brokers_are_unreachable(
    broker: KafkaTestBroker,
    writer: KafkaLogWriter,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """aiokafka 0.14 re-raises the cancellation of a fetch that waits out its retry
    backoff when the consumer stops; a SIGTERM during an outage must still stop the
    aggregator cleanly, with every stored offset kept."""
    events = random_events(customers=10, per_customer=3, seed=5)
    await writer.append(entries_of(events))
    aggregator = kafka_aggregator(engine, KafkaConnection(broker.bootstrap))
    async with running(aggregator):
        await wait_for_touchpoints(engine, len(events))
        broker.refuse_connections(True)

        async def fetches_failing() -> bool | None:
            return any("Failed fetch messages" in r.getMessage() for r in caplog.records) or None

        await eventually(fetches_failing, within=60)
    # Leaving `running` awaited the aggregator's stop: it returned instead of raising.
    assert await touchpoint_count(engine) == len(events)
