"""What a careless client or an attacker sends gets a clear 4xx naming the field, never a
500, and nothing acknowledged is lost. One test per finding of the probe (issue 13)."""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from shared.web.cursor import encode_cursor
from tests.support.clock import FakeClock
from tests.support.embedded import WRITE_KEY, Running, running_embedded
from tests.support.polling import eventually

KB = 1024
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database) as running:
        yield running


def event(event_id: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "customer_id": "c1", "type": "page_view", **fields}


def nested(depth: int) -> str:
    """JSON text of objects nested `depth` deep (deeper than encoders go)."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


async def readable(service: Running, customer: str, event_ids: set[str]) -> None:
    """Until every one of `event_ids` shows on the customer's timeline."""

    async def probe() -> bool | None:
        response = await service.reader.get(f"/v1/customers/{customer}/touchpoints")
        if response.status_code != 200:
            return None
        shown = {t["event_id"] for t in response.json()["touchpoints"]}
        return event_ids <= shown or None

    await eventually(probe)


def refused_field(response: httpx.Response) -> tuple[int, str, str]:
    """(index, field, message) of the one refused event in an ingest answer."""
    (rejected,) = response.json()["rejected"]
    (error,) = rejected["errors"]
    return rejected["index"], error["field"], error["message"]


async def test_segment_context_of_any_shape_is_accepted_and_kept(service: Running) -> None:
    contexts = [{"os": "iOS 17"}, {"os": ["iOS"]}, {"os": 17}, {"device": "phone"}]
    calls = [
        {"type": "track", "userId": "seg", "event": "Product Viewed", "messageId": f"os{n}",
         "context": context}
        for n, context in enumerate(contexts)
    ]  # fmt: skip
    async with httpx.AsyncClient(
        base_url=service.base_url, auth=httpx.BasicAuth(WRITE_KEY, "")
    ) as segment:
        response = await segment.post("/v1/batch", json={"batch": calls})

    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    await readable(service, "seg", {"os0", "os1", "os2", "os3"})


@pytest.mark.parametrize("depth", [40, 254, 1020])
async def test_deeply_nested_properties_are_refused_by_field(service: Running, depth: int) -> None:
    deep = orjson.dumps(event("deep", properties={})).replace(b"{}", nested(depth).encode())
    response = await service.writer.post(
        "/v1/events",
        content=b'{"batch": [' + orjson.dumps(event("flat")) + b"," + deep + b"]}",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 207, response.text
    index, field, message = refused_field(response)
    assert (index, field) == (1, "properties.a.a")
    assert "nested deeper than 32 levels" in message
    await readable(service, "c1", {"flat"})


async def test_a_deep_segment_batch_context_is_refused_for_each_call(service: Running) -> None:
    call = {"type": "track", "userId": "u", "event": "Product Viewed", "messageId": "ctx"}
    async with httpx.AsyncClient(
        base_url=service.base_url, auth=httpx.BasicAuth(WRITE_KEY, "")
    ) as segment:
        body = orjson.dumps({"batch": [call], "context": {"page": {}}})
        response = await segment.post(
            "/v1/batch",
            content=body.replace(b"{}", nested(300).encode()),
            headers={"Content-Type": "application/json"},
        )

    assert response.status_code == 422, response.text
    assert refused_field(response)[1] == "properties.context.page"


async def test_a_write_key_in_a_refused_body_is_masked_in_the_rejections(
    service: Running,
) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as beacon:
        response = await beacon.post(
            "/v1/t",
            content=b'{"writeKey": "' + WRITE_KEY.encode() + b'", "type": "track"}',
            headers={"Content-Type": "text/plain"},
        )
    assert response.status_code == 422

    listed = await service.reader.get("/v1/rejections")
    assert WRITE_KEY not in listed.text
    assert '"writeKey":"***"' in listed.json()["rejected"][0]["payload"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/customers/a%00b/experience", {}, "path"),
        ("/v1/customers/c1/journeys/p%00/", {}, "path"),
        ("/v1/alerts", {"customer_id": "a\x00b"}, "query.customer_id"),
        ("/v1/rejections", {"source": "\x00"}, "query.source"),
        ("/v1/products/p%00/funnel", {}, "path"),
    ],
)
async def test_a_nul_character_in_a_path_or_query_is_refused(
    service: Running, path: str, params: dict[str, str], field: str
) -> None:
    response = await service.reader.get(path, params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("body", [b'{"note": "a\\u0000b"}', b'{"note": "\\ud800"}'])
async def test_an_alert_note_that_cannot_be_stored_is_refused(
    service: Running, action: str, body: bytes
) -> None:
    response = await service.responder.post(
        f"/v1/alerts/1/{action}", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.note"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/alerts/9223372036854775808",
        "/v1/alerts/9223372036854775808/acknowledge",
        "/v1/customers/c1/journeys/bike?instance=2147483648",
    ],
)
async def test_numbers_past_the_columns_range_are_refused(service: Running, path: str) -> None:
    client = service.responder if path.endswith("acknowledge") else service.reader
    response = await (
        client.post(path, json={}) if path.endswith("acknowledge") else client.get(path)
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/alerts",
        "/v1/customers/c1/journeys",
        "/v1/customers/c1/touchpoints",
        "/v1/rejections",
        "/v1/touchpoints",
    ],
)
@pytest.mark.parametrize(
    "cursor",
    [encode_cursor(1, 2), encode_cursor("x", "y"), encode_cursor("2026-01-01T00:00:00", 1.5),
     base64.urlsafe_b64encode(b"[1180591620717411303424]").decode(), encode_cursor({"a": 1})],
)  # fmt: skip
async def test_a_forged_cursor_is_refused(service: Running, path: str, cursor: str) -> None:
    await service.writer.post("/v1/events", json=event("e1", product_id="p"))
    await readable(service, "c1", {"e1"})

    response = await service.reader.get(path, params={"cursor": cursor})

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("0001-01-01T00:00:00Z", "before 2000-01-01T00:00:00+00:00"),
        ("1969-07-20T20:17:00Z", "before 2000-01-01T00:00:00+00:00"),
    ],
)
async def test_event_times_before_the_floor_are_refused_not_dead_lettered(
    service: Running, timestamp: str, message: str
) -> None:
    response = await service.writer.post(
        "/v1/events", json={"batch": [event("now"), event("old", timestamp=timestamp)]}
    )

    assert response.status_code == 207
    index, field, said = refused_field(response)
    assert (index, field) == (1, "timestamp")
    assert message in said
    await readable(service, "c1", {"now"})
    kept = (await service.reader.get("/v1/rejections")).json()["rejected"]
    assert [r["event_id"] for r in kept] == ["old"]


async def test_preflights_answer_only_on_ingest_paths_for_allowed_origins(
    service: Running,
) -> None:
    async def preflight(path: str, origin: str) -> httpx.Response:
        return await service.writer.options(
            path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )

    assert (await preflight("/v1/events", "https://shop.example")).status_code == 204
    assert (await preflight("/v1/events", "https://evil.example")).status_code == 403
    for read_path in ("/v1/alerts", "/v1/customers/c1/experience", "/v1/rejections"):
        answer = await preflight(read_path, "https://shop.example")
        assert answer.status_code == 405
        assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"customer_id": "a/b"}, "customer_id"),
        ({"customer_id": "."}, "customer_id"),
        ({"customer_id": ".."}, "customer_id"),
        ({"anonymous_id": "x/y", "customer_id": None}, "anonymous_id"),
        ({"product_id": "p/q"}, "product_id"),
        ({"product_id": ".."}, "product_id"),
    ],
)
async def test_ids_the_read_api_cannot_address_are_refused(
    service: Running, fields: dict[str, Any], field: str
) -> None:
    response = await service.writer.post("/v1/events", json={"batch": [event("x", **fields)]})

    assert response.status_code == 422
    (rejected,) = response.json()["rejected"]
    assert rejected["errors"][0]["field"] == field
    assert "cannot be read back" in rejected["errors"][0]["message"]


async def test_a_structured_segment_product_id_is_refused(service: Running) -> None:
    call = {"type": "track", "userId": "u", "event": "Product Viewed",
            "properties": {"product_id": {"a": 1}}}  # fmt: skip
    async with httpx.AsyncClient(
        base_url=service.base_url, auth=httpx.BasicAuth(WRITE_KEY, "")
    ) as segment:
        response = await segment.post("/v1/track", json=call)

    assert response.status_code == 422
    assert response.json()["success"] is False
    assert refused_field(response)[1] == "properties.product_id"


async def test_bytes_after_the_gzip_stream_are_refused(service: Running) -> None:
    response = await service.writer.post(
        "/v1/events",
        content=gzip.compress(b'{"customer_id": "c1", "type": "page_view"}') + b"GARBAGE",
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_gzip"
    assert "7 bytes follow the end of the gzip stream" in response.json()["detail"]


async def test_the_rejections_store_keeps_a_bounded_number_per_key_and_forgets_old_ones(
    clean_database: str,
) -> None:
    clock = FakeClock()
    async with running_embedded(
        clean_database,
        clock=clock,
        rejections_max_per_key=3,
        rejections_max_age=timedelta(hours=1),
        rejections_payload_bytes=64,
    ) as service:
        for n in range(5):
            bad = {"event_id": f"bad{n}", "customer_id": "c1", "type": "?" * 100}
            assert (await service.writer.post("/v1/events", json=bad)).status_code == 422
        kept = (await service.reader.get("/v1/rejections")).json()["rejected"]
        assert [r["event_id"] for r in kept] == ["bad4", "bad3", "bad2"]
        assert {len(r["payload"]) for r in kept} == {64}

        clock.advance(timedelta(hours=2))
        late = {"event_id": "late", "customer_id": "c1", "type": "?"}
        assert (await service.writer.post("/v1/events", json=late)).status_code == 422
        kept = (await service.reader.get("/v1/rejections")).json()["rejected"]
        assert [r["event_id"] for r in kept] == ["late"]


async def test_errors_are_problem_details_everywhere(service: Running) -> None:
    answers = [
        await service.reader.get("/v1/customers/nobody/experience"),
        await service.reader.get("/v1/alerts", params={"limit": "0"}),
        await service.writer.get("/v1/alerts"),
        await service.writer.post("/v1/events", content=b"{"),
        await service.reader.get("/v1/no-such-thing"),
    ]

    assert [a.status_code for a in answers] == [404, 422, 403, 400, 404]
    for answer in answers:
        assert answer.headers["content-type"] == PROBLEM_JSON
        body = answer.json()
        assert body["status"] == answer.status_code
        assert all(body[name] for name in ("title", "detail", "code"))
