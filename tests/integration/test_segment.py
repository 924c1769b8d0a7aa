"""The Segment-compatible API with the official client, and identity linking."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from segment.analytics import Client

from tests.support.embedded import WRITE_KEY, Running, running_embedded
from tests.support.polling import eventually


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database) as running:
        yield running


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


async def customer_map(service: Running, path: str, ready: Any) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await service.reader.get(path)
        body: dict[str, Any] = response.json() if response.status_code == 200 else {}
        return body if body and ready(body) else None

    return await eventually(probe, within=30)


async def test_the_official_segment_client_feeds_the_maps(service: Running) -> None:
    errors: list[Exception] = []
    client = Client(
        write_key=WRITE_KEY,
        host=service.base_url,
        gzip=True,
        max_retries=3,
        upload_interval=0.05,
        on_error=lambda error, batch: errors.append(error),
    )

    start = datetime.now(UTC) - timedelta(minutes=10)

    def at(minute: int) -> datetime:
        # Calls a millisecond apart would tie; real visits are minutes apart.
        return start + timedelta(minutes=minute)

    def calls() -> None:
        client.page(anonymous_id="a-1", name="Home", timestamp=at(0))
        client.track(
            anonymous_id="a-1",
            event="Product Viewed",
            properties={"product_id": "sku-1"},
            timestamp=at(1),
        )
        client.identify(
            user_id="u-ann", anonymous_id="a-1", traits={"plan": "pro"}, timestamp=at(2)
        )
        client.track(
            user_id="u-ann",
            event="Product Added",
            properties={"product_id": "sku-1"},
            timestamp=at(3),
        )
        client.track(
            user_id="u-ann",
            event="Order Completed",
            properties={"products": [{"product_id": "sku-1"}], "revenue": 99.5},
            timestamp=at(4),
        )
        client.page(anonymous_id="a-2", name="Blog", timestamp=at(5))
        client.alias(previous_id="a-2", user_id="u-ann", timestamp=at(6))
        client.track(
            user_id="u-ann", event="Video Played", properties={"title": "How to"}, timestamp=at(7)
        )
        client.flush()
        client.shutdown()

    await asyncio.to_thread(calls)

    assert errors == []
    experience = await customer_map(
        service, "/v1/customers/u-ann/experience", lambda body: body["touchpoint_count"] == 8
    )
    assert experience["revenue"] == 99.5
    assert experience["channels"] == [{"channel": "web", "touchpoints": 8}]
    journey = (await service.reader.get("/v1/customers/u-ann/journeys/sku-1")).json()
    assert [t["to_stage"] for t in journey["transitions"]] == ["consideration", "decision"]
    assert [t["type"] for s in journey["stages"] for t in s["touchpoints"]] == [
        "product_view",
        "add_to_cart",
        "purchase",
    ]
    assert journey["converted"] is True
    for merged in ("a-1", "a-2"):  # the anonymous histories now belong to u-ann
        assert (await service.reader.get(f"/v1/customers/{merged}/experience")).status_code == 404


async def test_calls_of_one_millisecond_keep_the_stage_order(service: Running) -> None:
    """The SDK stamps milliseconds; a page can fire an ad click, a view and a cart in one."""
    errors: list[Exception] = []
    client = Client(
        write_key=WRITE_KEY,
        host=service.base_url,
        upload_interval=0.05,
        on_error=lambda error, batch: errors.append(error),
    )
    moment = datetime.now(UTC).replace(microsecond=123000) - timedelta(minutes=1)

    def calls() -> None:
        for event in ("Promotion Clicked", "Product Viewed", "Product Added"):
            client.track(
                user_id="u-ms", event=event, properties={"product_id": "sku-9"}, timestamp=moment
            )
        client.flush()
        client.shutdown()

    await asyncio.to_thread(calls)

    assert errors == []
    journey = await customer_map(
        service, "/v1/customers/u-ms/journeys/sku-9", lambda body: body["touchpoint_count"] == 3
    )
    assert [t["to_stage"] for t in journey["transitions"]] == [
        "awareness",
        "consideration",
        "decision",
    ]
    assert journey["revisits"] == 0


async def send(service: Running, path: str, body: dict[str, Any]) -> None:
    response = await service.writer.post(path, json=body, headers=basic(WRITE_KEY))
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def browsing(anonymous_id: str, prefix: str) -> list[dict[str, Any]]:
    return [
        {"type": "page", "messageId": f"{prefix}-1", "anonymousId": anonymous_id,
         "timestamp": "2026-11-20T10:00:00Z", "name": "Home"},
        {"type": "track", "messageId": f"{prefix}-2", "anonymousId": anonymous_id,
         "event": "Product Viewed", "properties": {"product_id": "tv"},
         "timestamp": "2026-11-20T10:05:00Z"},
        {"type": "track", "messageId": f"{prefix}-3", "anonymousId": anonymous_id,
         "event": "Checkout Started", "properties": {"product_id": "tv"},
         "timestamp": "2026-11-20T10:09:00Z"},
    ]  # fmt: skip


def identify(user: str, anonymous_id: str, prefix: str) -> dict[str, Any]:
    return {"type": "identify", "messageId": f"{prefix}-id", "userId": user,
            "anonymousId": anonymous_id, "timestamp": "2026-11-20T10:10:00Z"}  # fmt: skip


def purchase(user: str, prefix: str) -> dict[str, Any]:
    return {"type": "track", "messageId": f"{prefix}-buy", "userId": user,
            "event": "Order Completed", "properties": {"product_id": "tv", "revenue": 500},
            "timestamp": "2026-11-20T10:20:00Z"}  # fmt: skip


def comparable(journey: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (stage["stage"], t["type"], t["occurred_at"])
        for stage in journey["stages"]
        for t in stage["touchpoints"]
    ]


async def test_identify_before_or_after_browsing_gives_the_same_maps(service: Running) -> None:
    # Order one: browse anonymously, then identify, then buy.
    await send(service, "/v1/batch", {"batch": browsing("anon-x", "x")})
    await service.reader.get("/healthz")
    await send(service, "/v1/identify", identify("u-x", "anon-x", "x"))
    await send(service, "/v1/track", purchase("u-x", "x"))
    # Order two: identify first, then the browsing arrives (late, as a mobile app might).
    await send(service, "/v1/identify", identify("u-y", "anon-y", "y"))
    await send(service, "/v1/track", purchase("u-y", "y"))
    await send(service, "/v1/batch", {"batch": browsing("anon-y", "y")})

    def complete(body: dict[str, Any]) -> bool:
        return bool(body["touchpoint_count"] == 3)

    first = await customer_map(service, "/v1/customers/u-x/journeys/tv", complete)
    second = await customer_map(service, "/v1/customers/u-y/journeys/tv", complete)
    assert comparable(first) == comparable(second)
    assert [t["to_stage"] for t in first["transitions"]] == ["consideration", "decision"]
    assert first["converted"] is second["converted"] is True
    x = (await service.reader.get("/v1/customers/u-x/experience")).json()
    y = (await service.reader.get("/v1/customers/u-y/experience")).json()
    assert x["touchpoint_count"] == y["touchpoint_count"] == 5
    assert x["revenue"] == y["revenue"] == 500


@pytest.mark.parametrize(
    "merge",
    [
        pytest.param(
            {"type": "identify", "messageId": "m2", "userId": "u-2", "anonymousId": "anon-1"},
            id="identify an anonymous id already linked to someone else",
        ),
        pytest.param(
            {"type": "alias", "messageId": "m2", "previousId": "u-1", "userId": "u-2"},
            id="alias one known customer to another",
        ),
    ],
)
async def test_two_known_customers_are_never_merged(
    service: Running, merge: dict[str, Any]
) -> None:
    viewed = {"type": "track", "event": "Product Viewed"}
    await send(
        service,
        "/v1/track",
        {**viewed, "messageId": "m0", "anonymousId": "anon-1", "properties": {"product_id": "p"}},
    )
    await send(
        service,
        "/v1/identify",
        {"type": "identify", "messageId": "m1", "userId": "u-1", "anonymousId": "anon-1"},
    )
    await send(
        service,
        "/v1/track",
        {**viewed, "messageId": "m3", "userId": "u-2", "properties": {"product_id": "q"}},
    )

    await send(service, f"/v1/{merge['type']}", merge)

    async def refused() -> bool | None:
        metrics = (await service.reader.get("/metrics")).text
        return "journeymap_identity_merges_refused_total 1.0" in metrics or None

    await eventually(refused)
    one = (await service.reader.get("/v1/customers/u-1/experience")).json()
    two = (await service.reader.get("/v1/customers/u-2/experience")).json()
    assert one["products"] == [{"product_id": "p", "touchpoints": 1}]
    assert [p["product_id"] for p in two["products"]] == ["q"]


async def test_the_same_message_id_twice_counts_once(service: Running) -> None:
    call = {"type": "track", "messageId": "dup-1", "userId": "u-d", "event": "Product Viewed",
            "properties": {"product_id": "p"}}  # fmt: skip
    await send(service, "/v1/track", call)
    await send(service, "/v1/batch", {"batch": [call, call]})
    await send(service, "/v1/track", {**call, "messageId": "dup-2"})

    experience = await customer_map(
        service, "/v1/customers/u-d/experience", lambda body: body["touchpoint_count"] >= 2
    )
    await asyncio.sleep(0.3)
    again = (await service.reader.get("/v1/customers/u-d/experience")).json()
    assert experience["touchpoint_count"] == again["touchpoint_count"] == 2


async def test_write_key_in_the_body_as_a_beacon_sends_it(service: Running) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as client:
        response = await client.post(
            "/v1/t",
            content=b'{"writeKey": "' + WRITE_KEY.encode() + b'", "event": "Product Viewed",'
            b' "anonymousId": "beacon-1", "properties": {"product_id": "p"}}',
            headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example"},
        )

    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    await customer_map(service, "/v1/customers/beacon-1/experience", lambda body: True)
