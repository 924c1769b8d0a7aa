"""`journeymap ingest` on Kafka when Kafka refuses or is gone: the client gets 503
with Retry-After (never 500), readiness tells the truth, and the log stays readable.

Over real sockets: the ingest app on uvicorn, the real aiokafka producer, the test
broker made to refuse every produce or to refuse connections.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from services.ingest.bootstrap import create_ingest_app
from shared.config import Settings
from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_topics import ensure_topics
from tests.kafka_broker import KafkaTestBroker
from tests.kafka_broker.errors import ErrorCode
from tests.support.embedded import WRITE_KEY
from tests.support.polling import eventually
from tests.support.server import serve

EVENT = {"event_id": "e", "customer_id": "c", "type": "page_view", "channel": "web"}


@pytest.fixture
async def broker() -> AsyncIterator[KafkaTestBroker]:
    async with KafkaTestBroker(auto_create_topics=False) as broker:
        await ensure_topics(
            KafkaConnection(broker.bootstrap),
            ["touchpoints", "touchpoints.dlq"],
            partitions=2,
            replication_factor=1,
        )
        yield broker


@pytest.fixture
async def ingest(clean_database: str, broker: KafkaTestBroker) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=clean_database,
        log="kafka",
        kafka_bootstrap=broker.bootstrap,
        write_key=WRITE_KEY,
    )
    async with (
        serve(create_ingest_app(settings)) as base_url,
        httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {WRITE_KEY}"}, timeout=10
        ) as client,
    ):

        async def ready() -> bool | None:
            return (await client.get("/readyz")).status_code == 200 or None

        await eventually(ready, within=30)
        yield client


async def post(client: httpx.AsyncClient, n: int) -> httpx.Response:
    return await client.post("/v1/events", json={"batch": [{**EVENT, "event_id": f"e{n}"}]})


async def test_an_append_kafka_refuses_answers_503_with_retry_after(
    ingest: httpx.AsyncClient, broker: KafkaTestBroker
) -> None:
    assert (await post(ingest, 0)).status_code == 202

    broker.refuse_produce(ErrorCode.UNKNOWN_SERVER_ERROR)
    refused = await post(ingest, 1)

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == "log_refused"
    assert "retry the whole request" in refused.json()["detail"]

    broker.refuse_produce(None)

    async def accepted_again() -> bool | None:
        return (await post(ingest, 2)).status_code == 202 or None

    await eventually(accepted_again, within=30)


@pytest.mark.allow_error_logs  # the Kafka client's own "unable to connect", throttled
async def test_with_kafka_down_readiness_fails_and_the_log_holds_a_few_lines(
    ingest: httpx.AsyncClient, broker: KafkaTestBroker, caplog: pytest.LogCaptureFixture
) -> None:
    broker.refuse_connections()

    async def unready() -> httpx.Response | None:
        response = await ingest.get("/readyz")
        return response if response.status_code == 503 else None

    with caplog.at_level(logging.WARNING):
        readiness = await eventually(unready, within=30)
        answers = [(await post(ingest, n)).status_code for n in range(40)]

    assert "Kafka does not answer" in readiness.text
    assert set(answers) == {503}
    # At most one line per kind (logger and message) in the interval, ours and the client's.
    kinds: dict[tuple[str, str], int] = {}
    for record in caplog.records:
        kinds[(record.name, str(record.msg))] = kinds.get((record.name, str(record.msg)), 0) + 1
    # (Which kinds appear depends on what earlier tests in the process logged within
    # the minute; none may repeat, and 40 refused requests must not mean 40 lines.)
    assert all(count == 1 for count in kinds.values()), kinds
    assert len(caplog.records) <= 10, [r.getMessage() for r in caplog.records]
