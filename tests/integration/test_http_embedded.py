"""Ingest and query API of the embedded app, over real sockets, on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.db.engine import create_engine
from tests.support.embedded import READ_KEY, WRITE_KEY, Running, running_embedded
from tests.support.polling import eventually
from tests.support.tcp_proxy import TcpProxy, connector_for, via_proxy

JOURNEY = [
    {"event_id": "w1", "customer_id": "alice", "type": "ad_click", "channel": "ads",
     "product_id": "bike", "timestamp": "2026-11-20T10:00:00Z"},
    {"event_id": "w2", "customer_id": "alice", "type": "product_view", "channel": "web",
     "product_id": "bike", "timestamp": "2026-11-20T10:05:00Z"},
    {"event_id": "w3", "customer_id": "alice", "type": "add_to_cart", "channel": "web",
     "product_id": "bike", "timestamp": "2026-11-20T10:09:00Z"},
    {"event_id": "w4", "customer_id": "alice", "type": "purchase", "channel": "web",
     "product_id": "bike", "revenue": 499.0, "timestamp": "2026-11-20T10:12:00Z"},
    {"event_id": "w5", "customer_id": "alice", "type": "support_ticket_opened",
     "channel": "support", "product_id": "bike", "sentiment": -0.4,
     "timestamp": "2026-11-22T09:00:00Z"},
]  # fmt: skip


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database) as running:
        yield running


async def journey_when(
    service: Running, path: str, ready: Any = lambda body: True
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await service.reader.get(path)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if ready(body) else None

    return await eventually(probe)


async def test_a_journey_from_ad_click_to_support_ticket(service: Running) -> None:
    response = await service.writer.post("/v1/events", json={"batch": JOURNEY})

    assert response.status_code == 202
    assert response.json() == {
        "accepted": 5,
        "event_ids": ["w1", "w2", "w3", "w4", "w5"],
        "rejected": [],
    }
    journey = await journey_when(
        service, "/v1/customers/alice/journeys/bike", lambda body: body["stage"] == "service"
    )
    assert [t["to_stage"] for t in journey["transitions"]] == [
        "awareness",
        "consideration",
        "decision",
        "service",
    ]
    assert journey["converted"] is True
    assert journey["status"] == "converted"
    assert journey["revenue"] == 499.0
    assert [s["seconds_in_stage"] for s in journey["stages"][:3]] == [300.0, 240.0, 168660.0]
    experience = (await service.reader.get("/v1/customers/alice/experience")).json()
    assert experience["support"]["contacts"] == 1
    assert experience["channels"] == [
        {"channel": "web", "touchpoints": 3},
        {"channel": "ads", "touchpoints": 1},
        {"channel": "support", "touchpoints": 1},
    ]
    assert experience["sentiment"]["average"] == -0.4
    journeys = (await service.reader.get("/v1/customers/alice/journeys")).json()
    assert [j["product_id"] for j in journeys["journeys"]] == ["bike"]


@pytest.mark.parametrize(
    ("headers", "method", "path", "status", "detail"),
    [
        ({}, "POST", "/v1/events", 401, "missing write key: send 'Authorization: Bearer"),
        ({"Authorization": "Bearer nope"}, "POST", "/v1/events", 401, "unknown or revoked"),
        ({"Authorization": "Basic abc"}, "POST", "/v1/events", 401, "missing write key"),
        ({"Authorization": f"Bearer {READ_KEY}"}, "POST", "/v1/events", 403, "'write' scope"),
        ({}, "GET", "/v1/customers/x/experience", 401, "missing API key"),
        (
            {"Authorization": f"Bearer {WRITE_KEY}"},
            "GET",
            "/v1/customers/x/experience",
            403,
            "'read' scope",
        ),
    ],
)
async def test_keys_and_scopes(
    service: Running,
    headers: dict[str, str],
    method: str,
    path: str,
    status: int,
    detail: str,
) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as client:
        response = await client.request(method, path, headers=headers, json=JOURNEY[0])

    assert response.status_code == status
    assert detail in response.json()["detail"]
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_each_bad_event_is_named_and_the_good_ones_kept(service: Running) -> None:
    good = {"event_id": "ok", "customer_id": "bob", "type": "page_view"}
    batch = [
        good,
        {"event_id": "no-who", "type": "page_view"},
        {"customer_id": "bob", "type": "page_view", "nps": 11, "csat": 0},
        {"customer_id": "bob", "type": "Page View!"},
        {"customer_id": "bob", "type": "page_view", "timestamp": "2026-11-20T10:00:00"},
        {"customer_id": "bob", "type": "page_view", "timestamp": "2099-01-01T00:00:00Z"},
        {"customer_id": "bob", "type": "page_view", "colour": "red"},
        "not an object",
    ]

    response = await service.writer.post("/v1/events", json={"batch": batch})

    assert response.status_code == 207
    body = response.json()
    assert body["accepted"] == 1
    assert body["event_ids"] == ["ok"]
    errors = {r["index"]: r for r in body["rejected"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7]
    assert errors[1]["event_id"] == "no-who"
    assert "customer_id or anonymous_id" in errors[1]["errors"][0]["message"]
    assert {e["field"] for e in errors[2]["errors"]} == {"nps", "csat"}
    assert errors[3]["errors"][0]["field"] == "type"
    assert errors[4]["errors"][0]["field"] == "timestamp"
    assert "timezone" in errors[4]["errors"][0]["message"]
    assert "ahead of the server clock" in errors[5]["errors"][0]["message"]
    assert errors[6]["errors"][0]["field"] == "colour"
    assert errors[7]["errors"][0]["field"] == "event"
    await journey_when(service, "/v1/customers/bob/experience")
    experience = (await service.reader.get("/v1/customers/bob/experience")).json()
    assert experience["touchpoint_count"] == 1


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{not json", 400, "body is not valid JSON"),
        (b"[1, 2]", 400, "body must be an event object"),
        (b'{"batch": {"a": 1}}', 400, "'batch' must be a list"),
        (b'{"batch": []}', 422, "the batch is empty"),
        (b'{"type": "page_view"}', 422, "no event was accepted"),
        (
            b'{"batch": [' + b",".join([b'{"customer_id": "c", "type": "x"}'] * 2501) + b"]}",
            413,
            "2501 events in one request; at most 2500",
        ),
    ],
)
async def test_requests_refused_whole(
    service: Running, body: bytes, status: int, detail: str, clean_database: str
) -> None:
    response = await service.writer.post(
        "/v1/events", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status
    assert detail in response.json()["detail"]
    engine = create_engine(clean_database)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM event_log")) == 0
    finally:
        await engine.dispose()


async def test_unknown_customers_and_products_are_404(service: Running) -> None:
    await service.writer.post("/v1/events", json=JOURNEY[0])
    await journey_when(service, "/v1/customers/alice/journeys/bike")

    for path in ("/v1/customers/zoe/experience", "/v1/customers/zoe/journeys"):
        response = await service.reader.get(path)
        assert response.status_code == 404
        assert response.json()["detail"] == "no touchpoints seen for customer 'zoe'"
    response = await service.reader.get("/v1/customers/alice/journeys/boat")
    assert response.status_code == 404
    assert response.json()["detail"] == "customer 'alice' has no journey for product 'boat'"


async def test_openapi_documents_requests_and_responses(service: Running) -> None:
    schema = (await service.reader.get("/openapi.json")).json()

    components = schema["components"]["schemas"]
    for model in ("TouchpointIn", "EventBatch", "IngestResult", "JourneyMap", "ExperienceMap"):
        assert model in components
    body = schema["paths"]["/v1/events"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["oneOf"][0] == {
        "$ref": "#/components/schemas/TouchpointIn"
    }


async def test_health_readiness_and_metrics(service: Running) -> None:
    await service.writer.post("/v1/events", json={"batch": JOURNEY})
    await service.writer.post("/v1/events", json={"type": "page_view"})
    await journey_when(
        service, "/v1/customers/alice/journeys/bike", lambda body: body["stage"] == "service"
    )

    assert (await service.reader.get("/healthz")).json() == {"status": "ok"}
    ready = await service.reader.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "event log": "ok", "aggregator": "ok"}
    metrics = (await service.reader.get("/metrics")).text
    assert 'journeymap_ingest_events_total{outcome="accepted",reason=""} 5.0' in metrics
    assert 'journeymap_ingest_events_total{outcome="rejected",reason="invalid_event"} 1.0' in (
        metrics
    )
    assert 'journeymap_aggregator_events_total{outcome="applied"} 5.0' in metrics
    assert "journeymap_event_to_map_latency_seconds_count 5.0" in metrics
    assert "journeymap_aggregator_batches_total" in metrics


async def test_log_outage_answers_503_with_retry_after_and_loses_nothing(
    clean_database: str,
) -> None:
    proxy = TcpProxy(connector_for(clean_database))
    await proxy.start()
    try:
        async with running_embedded(via_proxy(clean_database, proxy.port)) as service:
            assert (await service.writer.post("/v1/events", json=JOURNEY[0])).status_code == 202
            await proxy.cut()

            response = await service.writer.post("/v1/events", json=JOURNEY[1])

            assert response.status_code == 503
            assert response.headers["Retry-After"] == "1"
            assert "nothing was accepted" in response.json()["detail"]
            ready = await service.reader.get("/readyz")
            assert ready.status_code == 503
            await proxy.restore()
            assert (await service.writer.post("/v1/events", json=JOURNEY[2])).status_code == 202
            journey = await journey_when(
                service,
                "/v1/customers/alice/journeys/bike",
                lambda body: body["touchpoint_count"] == 2,
            )
            assert [s["event_id"] for st in journey["stages"] for s in st["touchpoints"]] == [
                "w1",
                "w3",
            ]
    finally:
        await proxy.stop()
