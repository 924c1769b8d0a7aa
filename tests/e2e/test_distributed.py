"""Distributed mode over processes: ingest, aggregators and api on a Kafka broker.

The final maps must equal a single-process replay of the same events (the pure
reducers over the events sent), through crashes, rebalances and broker outages.
Every test runs against the project's test broker (idempotent producers) and against
Tansu, an independent Kafka-compatible broker (producers not idempotent, acks=all:
Tansu hands out no producer ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.schemas.log_event import LogEvent
from tests.support.distributed import Cluster, cluster
from tests.support.embedded import ALERTS_KEY, READ_KEY, WRITE_KEY
from tests.support.events import expected_maps, random_events
from tests.support.kafka_brokers import (
    BROKERS,
    Broker,
    kafka_broker,
    read_records,
    topic_partitions,
)
from tests.support.maps import stored_maps
from tests.support.polling import eventually
from tests.support.receivers import receiver

TOPIC = "touchpoints"
DLQ = "touchpoints.dlq"


def native(event: LogEvent) -> dict[str, Any]:
    """The event as a website would send it to POST /v1/events."""
    body = event.model_dump(
        mode="json", exclude_none=True, exclude={"v", "occurred_at", "received_at", "source"}
    )
    body["timestamp"] = event.occurred_at.isoformat()
    return body


@pytest.fixture(params=BROKERS)
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Broker]:
    async with kafka_broker(request.param, tmp_path / "broker", partitions=4) as broker:
        yield broker


@contextlib.asynccontextmanager
async def services(database_url: str, broker: Broker, logs: Path) -> AsyncIterator[Cluster]:
    """journeymap's services on `broker`, with the settings it needs."""
    async with cluster(database_url, broker.bootstrap, logs) as running:
        running.env.update(broker.service_env)
        yield running


@pytest.fixture
async def deployment(clean_database: str, broker: Broker, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with services(clean_database, broker, tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def writer_for(service_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=service_url,
        headers={"Authorization": f"Bearer {WRITE_KEY}"},
        timeout=httpx.Timeout(10),
    ) as client:
        yield client


async def send_all(
    ingest_url: str, events: Sequence[LogEvent], *, batch: int = 100, parallel: int = 4
) -> None:
    """POST every event, retrying a batch on 429 or 503 after Retry-After, as clients do."""
    chunks = [events[i : i + batch] for i in range(0, len(events), batch)]
    queue: asyncio.Queue[Sequence[LogEvent]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            chunk = queue.get_nowait()
            while True:
                response = await client.post(
                    "/v1/events", json={"batch": [native(e) for e in chunk]}
                )
                if response.status_code == 202:
                    break
                assert response.status_code in (429, 503), response.text
                await asyncio.sleep(float(response.headers["Retry-After"]))

    async with writer_for(ingest_url) as client:
        await asyncio.gather(*(worker(client) for _ in range(parallel)))


async def touchpoint_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM touchpoints")) or 0)


async def until_all_mapped(engine: AsyncEngine, count: int, within: float = 120) -> None:
    async def probe() -> bool | None:
        return await touchpoint_count(engine) >= count or None

    await eventually(probe, within=within, every=0.2)


async def assert_replay_equal(engine: AsyncEngine, events: Sequence[LogEvent]) -> None:
    journeys, experiences = await stored_maps(engine)
    expected_journeys, expected_experiences = expected_maps(events)
    assert journeys.keys() == expected_journeys.keys()
    assert journeys == expected_journeys
    assert experiences == expected_experiences


async def read_map(api_url: str, customer: str) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": f"Bearer {READ_KEY}"}
    ) as client:
        response = await client.get(f"/v1/customers/{customer}/experience")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


async def test_pipeline_over_processes_equals_a_single_process_replay(
    deployment: Cluster, engine: AsyncEngine
) -> None:
    ingest = await deployment.start("ingest")
    api = await deployment.start("api")
    await deployment.start("aggregator")
    await deployment.start("aggregator")
    events = random_events(customers=500, per_customer=20, seed=21)

    await send_all(ingest.base_url, events)
    await send_all(ingest.base_url, events[:300])  # redelivery: same event ids again

    await until_all_mapped(engine, len(events))
    await assert_replay_equal(engine, events)
    assert await touchpoint_count(engine) == 10_000
    experience = await read_map(api.base_url, "cust-7")
    assert experience["touchpoint_count"] == 20


async def test_an_aggregator_killed_mid_stream_loses_and_doubles_nothing(
    deployment: Cluster, engine: AsyncEngine
) -> None:
    ingest = await deployment.start("ingest")
    await deployment.start("aggregator")
    doomed = await deployment.start("aggregator")
    events = random_events(customers=300, per_customer=20, seed=22)
    sending = asyncio.create_task(send_all(ingest.base_url, events, parallel=2))

    await eventually(_at_least(engine, 1500), within=60)
    doomed.process.kill()
    await sending

    await until_all_mapped(engine, len(events))
    await assert_replay_equal(engine, events)


async def test_an_aggregator_joining_mid_stream_changes_nothing(
    deployment: Cluster, engine: AsyncEngine
) -> None:
    ingest = await deployment.start("ingest")
    await deployment.start("aggregator")
    await deployment.start("aggregator")
    events = random_events(customers=300, per_customer=20, seed=23)
    sending = asyncio.create_task(send_all(ingest.base_url, events, parallel=2))

    await eventually(_at_least(engine, 1500), within=60)
    await deployment.start("aggregator")
    await sending

    await until_all_mapped(engine, len(events))
    await assert_replay_equal(engine, events)


async def test_broker_outage_gives_503_bounded_memory_and_loses_nothing_acknowledged(
    deployment: Cluster, broker: Broker, engine: AsyncEngine
) -> None:
    ingest = await deployment.start("ingest")
    await deployment.start("aggregator")
    events = random_events(customers=200, per_customer=20, seed=24)
    before, during, after = events[:1000], events[1000:3000], events[3000:]
    await send_all(ingest.base_url, before)
    memory = psutil.Process(ingest.process.pid)
    baseline_rss = memory.memory_info().rss

    await broker.refuse()
    acknowledged: list[LogEvent] = []
    slowest = 0.0
    async with writer_for(ingest.base_url) as client:
        loop = asyncio.get_running_loop()
        for round_number in range(3):
            for i in range(0, len(during), 100):
                chunk = during[i : i + 100]
                started = loop.time()
                response = await client.post(
                    "/v1/events", json={"batch": [native(e) for e in chunk]}
                )
                slowest = max(slowest, loop.time() - started)
                if response.status_code == 202:
                    acknowledged.extend(chunk)
                else:
                    assert response.status_code == 503, response.text
                    assert response.headers["Retry-After"] == "1"
            assert memory.memory_info().rss - baseline_rss < 64 * 2**20, f"round {round_number}"
        metrics = (await client.get("/metrics")).text
    # Ingest answers within its Kafka send timeout (1.5 s); the margin is for a busy
    # machine, and what is asserted is that no request hangs.
    assert slowest < 10.0
    pending = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("journeymap_ingest_log_pending_events ")
    )
    assert pending <= 500

    await broker.accept()
    await send_all(ingest.base_url, after)
    await send_all(ingest.base_url, during)  # the clients retry what got 503

    await until_all_mapped(engine, len(events))
    await assert_replay_equal(engine, events)


async def test_a_poison_record_reaches_the_dead_letter_topic(
    deployment: Cluster, broker: Broker, engine: AsyncEngine
) -> None:
    ingest = await deployment.start("ingest")
    await deployment.start("aggregator")
    events = random_events(customers=20, per_customer=5, seed=25)
    await send_all(ingest.base_url, events[:50])
    # Not an event: only a producer that skips ingest's validation can write it.
    producer = AIOKafkaProducer(**broker.connection().producer_options("poisoner"))
    await producer.start()
    try:
        poison = await producer.send_and_wait(TOPIC, b'{"event_id": 7}', key=b"c1")
    finally:
        await producer.stop()
    await send_all(ingest.base_url, events[50:])

    await until_all_mapped(engine, len(events))
    await assert_replay_equal(engine, events)
    # journeymap created both topics as configured (Tansu would create a topic it is
    # sent to with partitions of its own choosing).
    for topic in (TOPIC, DLQ):
        assert await topic_partitions(broker.connection(), topic) == [0, 1, 2, 3]
    # At least once: a retried batch may dead-letter it again, never anything else.
    dead = await read_records(broker.connection(), DLQ, 1)
    for record in dead:
        headers = dict(record.headers)
        assert record.value == b'{"event_id": 7}'
        assert record.key == b"c1"
        assert b"event_id" in headers["reason"]
        assert headers["source.topic"] == TOPIC.encode()
        assert headers["source.partition"] == str(poison.partition).encode()
        assert headers["source.offset"] == str(poison.offset).encode()


def _at_least(engine: AsyncEngine, count: int) -> Any:
    async def probe() -> bool | None:
        return await touchpoint_count(engine) >= count or None

    return probe


async def test_an_abandoned_checkout_alerts_on_call_in_distributed_mode(
    clean_database: str, broker: Broker, tmp_path: Path
) -> None:
    async with receiver() as hook, services(clean_database, broker, tmp_path) as running:
        running.env.update(
            JOURNEYMAP_RULES__CHECKOUT_ABANDON_AFTER="PT1S",
            JOURNEYMAP_RULES__ALLOWED_LATENESS="PT0S",
            JOURNEYMAP_NOTIFIERS=json.dumps(
                [{"name": "ops", "kind": "webhook", "url": hook.url, "secret": "k"}]
            ),
        )
        ingest = await running.start("ingest")
        api = await running.start("api")
        await running.start("aggregator")
        await running.start("aggregator")
        checkout = {
            "customer_id": "dana",
            "type": "checkout_started",
            "product_id": "bike",
            "timestamp": datetime.now(UTC).isoformat(),
        }
        async with writer_for(ingest.base_url) as client:
            assert (await client.post("/v1/events", json=checkout)).status_code == 202

        async with httpx.AsyncClient(
            base_url=api.base_url, headers={"Authorization": f"Bearer {ALERTS_KEY}"}
        ) as responder:

            async def opened() -> list[dict[str, Any]] | None:
                found = (await responder.get("/v1/alerts")).json()["alerts"]
                return found or None

            (alert,) = await eventually(opened, within=60)
            assert (alert["rule"], alert["customer_id"]) == ("checkout_abandoned", "dana")
            await responder.post(f"/v1/alerts/{alert['id']}/acknowledge", json={"by": "ops"})
            await responder.post(f"/v1/alerts/{alert['id']}/resolve", json={"by": "ops"})

            async def all_delivered() -> list[str] | None:
                events = [r.json["event"] for r in hook.accepted]
                return events if len(events) >= 3 else None

            assert await eventually(all_delivered, within=60) == [
                "triggered",
                "acknowledged",
                "resolved",
            ]
