"""Every limit and malformed input over HTTP: status, error body, nothing of it in the maps,
and each refusal kept in the dead-letter store the API lists."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.db.engine import create_engine
from shared.db.key_store import create_key
from tests.support.clock import FakeClock
from tests.support.embedded import WRITE_KEY, Running, running_embedded
from tests.support.maps import wait_until_consumed

KB = 1024


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database) as running:
        yield running


def event(n: int, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e{n}", "customer_id": "c1", "type": "page_view", **extra}


async def stored_ids(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        await wait_until_consumed(engine)
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT event_id FROM touchpoints"))
            return {row[0] for row in rows}
    finally:
        await engine.dispose()


async def rejections(service: Running) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await service.reader.get("/v1/rejections")).json()["rejected"]
    return found


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        pytest.param(event(1, properties={"blob": "x" * 33 * KB}), "event", "at most 32 KB",
                     id="event over 32 KB"),
        pytest.param({"event_id": "e1", "type": "page_view"}, "event",
                     "customer_id or anonymous_id", id="missing identity"),
        pytest.param(event(1, timestamp="2099-01-01T00:00:00Z"), "timestamp",
                     "ahead of the server clock", id="timestamp far in the future"),
        pytest.param(event(1, nps=11), "nps", "less than or equal to 10", id="score out of range"),
    ],
)  # fmt: skip
async def test_a_bad_event_in_a_batch_is_named_and_kept_and_the_rest_accepted(
    service: Running, clean_database: str, bad: dict[str, Any], field: str, message: str
) -> None:
    response = await service.writer.post("/v1/events", json={"batch": [event(0), bad, event(2)]})

    assert response.status_code == 207
    body = response.json()
    assert body["event_ids"] == ["e0", "e2"]
    (rejected,) = body["rejected"]
    assert rejected["index"] == 1
    assert rejected["errors"][0]["field"] == field
    assert message in rejected["errors"][0]["message"]
    assert await stored_ids(clean_database) == {"e0", "e2"}
    (kept,) = await rejections(service)
    assert (kept["index"], kept["endpoint"], kept["source"]) == (1, "events", "write-key")
    assert message in kept["reason"]


def bomb(size: int) -> bytes:
    return gzip.compress(b'{"batch": [' + b" " * size + b"]}")


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        pytest.param(b"{nope", {}, 400, "invalid_json", id="invalid JSON"),
        pytest.param(b"<e/>", {"Content-Type": "application/xml"}, 415,
                     "unsupported_media_type", id="unknown content type"),
        pytest.param(b'{"batch": [' + b" " * 501 * KB + b"]}", {}, 413, "payload_too_large",
                     id="request over 500 KB"),
        pytest.param(bomb(20 * 1024 * KB), {"Content-Encoding": "gzip"}, 413,
                     "payload_too_large", id="gzip bomb"),
        pytest.param(b"\x1f\x8b garbage", {"Content-Encoding": "gzip"}, 400, "invalid_gzip",
                     id="broken gzip"),
        pytest.param(b"{}", {"Content-Encoding": "br"}, 415, "unsupported_encoding",
                     id="unknown encoding"),
    ],
)  # fmt: skip
async def test_unusable_requests_are_refused_whole(
    service: Running,
    clean_database: str,
    content: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = await service.writer.post(
        "/v1/events", content=content, headers={"Content-Type": "application/json", **headers}
    )

    assert response.status_code == status
    assert response.json()["code"] == code
    assert await stored_ids(clean_database) == set()
    (kept,) = await rejections(service)
    assert kept["index"] is None
    assert kept["reason"].startswith(code)


async def test_more_than_2500_events_are_refused(service: Running, clean_database: str) -> None:
    response = await service.writer.post(
        "/v1/events", json={"batch": [event(n) for n in range(2501)]}
    )

    assert response.status_code == 413
    assert response.json()["detail"] == "2501 events in one request; at most 2500"
    assert await stored_ids(clean_database) == set()


async def test_a_gzipped_batch_within_the_limits_is_accepted(
    service: Running, clean_database: str
) -> None:
    body = gzip.compress(b'{"batch": [' + b",".join(
        b'{"event_id": "g%d", "customer_id": "c1", "type": "page_view"}' % n for n in range(3)
    ) + b"]}")  # fmt: skip

    response = await service.writer.post(
        "/v1/events",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 202
    assert await stored_ids(clean_database) == {"g0", "g1", "g2"}


async def test_the_segment_door_answers_as_segment_does(
    service: Running, clean_database: str
) -> None:
    basic = httpx.BasicAuth(WRITE_KEY, "")
    async with httpx.AsyncClient(base_url=service.base_url, auth=basic) as segment:
        invalid = await segment.post("/v1/batch", content=b"{nope")
        partial = await segment.post(
            "/v1/batch",
            json={
                "batch": [
                    {"type": "track", "userId": "u1", "event": "Product Viewed", "messageId": "s1"},
                    {"type": "track", "event": "Product Viewed", "messageId": "s2"},
                ]
            },
        )
        empty = await segment.post("/v1/batch", json={"batch": [{"type": "track"}]})

    assert invalid.status_code == 400
    assert invalid.json()["success"] is False
    assert invalid.json()["code"] == "invalid_json"
    assert partial.status_code == 200
    assert partial.json()["success"] is True
    assert partial.json()["rejected"][0]["index"] == 1
    assert partial.json()["rejected"][0]["errors"][0]["field"] == "userId"
    assert empty.status_code == 422
    assert await stored_ids(clean_database) == {"s1"}


async def test_the_rate_limit_answers_429_with_an_honest_retry_after(
    clean_database: str,
) -> None:
    # The bucket refills by the service's clock, which only the test moves: what the
    # headers say is computed, not raced against the machine's speed.
    clock = FakeClock()
    async with running_embedded(
        clean_database, clock=clock, rate_limit_per_second=20, rate_limit_burst=50
    ) as service:
        first = await service.writer.post(
            "/v1/events", json={"batch": [event(n) for n in range(50)]}
        )
        assert first.status_code == 202
        assert first.headers["X-RateLimit-Limit"] == "50"
        assert first.headers["X-RateLimit-Remaining"] == "0"

        second = [event(n) for n in range(50, 60)]
        limited = await service.writer.post("/v1/events", json={"batch": second})
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        wait = int(limited.headers["Retry-After"])
        assert wait == 1  # 10 events at 20 per second
        assert limited.headers["X-RateLimit-Remaining"] == "0"

        clock.advance(timedelta(seconds=wait))
        retried = await service.writer.post("/v1/events", json={"batch": second})
        assert retried.status_code == 202
        assert retried.headers["X-RateLimit-Remaining"] == "10"  # 20 refilled, 10 spent

        assert await stored_ids(clean_database) == {f"e{n}" for n in range(60)}


async def test_unusable_requests_spend_the_rate_limit_and_are_kept_only_within_it(
    clean_database: str,
) -> None:
    clock = FakeClock()
    junk = b"{" + b"x" * 40 * KB
    async with running_embedded(
        clean_database, clock=clock, rate_limit_per_second=2, rate_limit_burst=5
    ) as service:
        answers = [
            await service.writer.post(
                "/v1/events", content=junk, headers={"Content-Type": "application/json"}
            )
            for _ in range(20)
        ]
        assert [a.status_code for a in answers] == [400] * 5 + [429] * 15
        assert answers[4].headers["X-RateLimit-Remaining"] == "0"
        assert answers[5].headers["Retry-After"] == "1"
        assert len(await rejections(service)) == 5

        clock.advance(timedelta(seconds=1))
        assert (await service.writer.post("/v1/events", json=event(1))).status_code == 202


async def test_browsers_are_let_in_only_from_allowed_origins(clean_database: str) -> None:
    async with running_embedded(clean_database) as service:
        preflight = await service.writer.options(
            "/v1/batch",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


async def test_a_key_only_sends_from_its_own_origins(clean_database: str) -> None:
    engine = create_engine(clean_database)
    try:
        shop_key = await create_key(
            engine, "shop", ["write"], allowed_origins=["https://shop.example"]
        )
    finally:
        await engine.dispose()
    async with running_embedded(clean_database, static_keys=False) as service:
        auth = {"Authorization": f"Bearer {shop_key}"}

        async def from_origin(origin: str) -> httpx.Response:
            return await service.writer.post(
                "/v1/events", json=event(1), headers={**auth, "Origin": origin}
            )

        allowed = await from_origin("https://shop.example")
        assert allowed.status_code == 202
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        refused = await from_origin("https://evil.example")
        assert refused.status_code == 403
        assert refused.json()["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in refused.headers

        async def preflight(origin: str) -> httpx.Response:
            return await service.writer.options(
                "/v1/events", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
            )

        assert (await preflight("https://shop.example")).status_code == 204
        assert (await preflight("https://evil.example")).status_code == 403
