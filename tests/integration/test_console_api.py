"""The console's side of the API, over real sockets: sessions kept in a cookie, the
guards on changes made with it, the pages and assets, and the endpoints the views
read (totals, stream, search, products, stage model, an alert's touchpoints)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.db.engine import create_engine
from shared.db.key_store import create_key, revoke_key
from tests.support.embedded import ALERTS_KEY, READ_KEY, WRITE_KEY, Running, running_embedded
from tests.support.polling import eventually

CONSOLE = {"X-Journeymap-Console": "1"}
NOW = datetime.now(UTC).replace(microsecond=0)


def event(event_id: str, customer: str, event_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": customer,
        "type": event_type,
        "channel": "web",
        "timestamp": (NOW - timedelta(minutes=30)).isoformat(),
        **extra,
    }


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database) as running:
        yield running


@pytest.fixture
async def browser(service: Running) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no key of its own, like a browser: only what it signs in with."""
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/v1/session", json={"key": key}, headers=CONSOLE)


async def settled(client: httpx.AsyncClient, path: str, ready: Any) -> Any:
    async def probe() -> Any:
        response = await client.get(path)
        return response.json() if response.status_code == 200 and ready(response.json()) else None

    return await eventually(probe, within=30)


async def test_signing_in_keeps_the_key_in_a_strict_http_only_cookie(
    service: Running, browser: httpx.AsyncClient
) -> None:
    assert (await browser.get("/v1/session")).json()["signed_in"] is False
    assert (await browser.get("/v1/alerts")).status_code == 401

    response = await sign_in(browser, READ_KEY)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "signed_in": True,
        "key_name": "read-key",
        "can_look": True,
        "can_act": False,
        "reason": None,
    }
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("journeymap_key=")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    assert READ_KEY not in str(response.url)
    assert (await browser.get("/v1/alerts")).status_code == 200
    assert (await browser.get("/v1/session")).json()["key_name"] == "read-key"

    signed_out = await browser.delete("/v1/session", headers=CONSOLE)
    assert signed_out.status_code == 204
    assert "max-age=0" in signed_out.headers["set-cookie"].lower()
    assert (await browser.get("/v1/alerts")).status_code == 401


@pytest.mark.parametrize(
    ("key", "status", "says"),
    [
        ("not-a-key", 401, "unknown or revoked API key"),
        (WRITE_KEY, 403, "only sends events"),
    ],
)
async def test_a_key_that_cannot_look_is_refused_clearly(
    browser: httpx.AsyncClient, key: str, status: int, says: str
) -> None:
    response = await sign_in(browser, key)

    assert response.status_code == status
    assert says in response.json()["detail"]
    assert "set-cookie" not in response.headers


async def test_changes_with_the_cookie_need_the_console_header_and_this_host(
    service: Running, browser: httpx.AsyncClient
) -> None:
    assert (await browser.post("/v1/session", json={"key": ALERTS_KEY})).status_code == 403
    assert (await sign_in(browser, ALERTS_KEY)).status_code == 200
    survey = event("s1", "vic", "survey_response", nps=2)
    assert (await service.writer.post("/v1/events", json={"batch": [survey]})).status_code == 202
    alerts = await settled(service.reader, "/v1/alerts", lambda body: body["alerts"])
    acknowledge = f"/v1/alerts/{alerts['alerts'][0]['id']}/acknowledge"

    no_header = await browser.post(acknowledge, json={})
    other_site = await browser.post(
        acknowledge, json={}, headers={**CONSOLE, "Origin": "https://evil.example"}
    )
    same_site = await browser.post(
        acknowledge,
        json={"note": "calling her"},
        headers={**CONSOLE, "Origin": service.base_url},
    )

    assert no_header.status_code == 403
    assert "X-Journeymap-Console" in no_header.json()["detail"]
    assert other_site.status_code == 403
    assert "evil.example" in other_site.json()["detail"]
    assert same_site.status_code == 200, same_site.text
    assert same_site.json()["status"] == "acknowledged"
    # Scripts with a Bearer key are not asked for the header.
    alert = (await service.reader.get(f"/v1/alerts/{alerts['alerts'][0]['id']}")).json()
    assert alert["actions"][0]["note"] == "calling her"


async def test_a_revoked_key_signs_the_browser_out_with_the_reason(
    clean_database: str,
) -> None:
    engine = create_engine(clean_database, pool_size=1)
    try:
        async with running_embedded(clean_database) as service:
            key = await create_key(engine, "dana", ["read"])
            async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as browser:
                assert (await sign_in(browser, key)).status_code == 200
                assert await revoke_key(engine, "dana")

                async def refused() -> httpx.Response | None:
                    response = await browser.get("/v1/alerts")
                    return response if response.status_code == 401 else None

                response = await eventually(refused, within=30)
                assert "sign in again" in response.json()["detail"]
                session = (await browser.get("/v1/session")).json()
                assert session["signed_in"] is False
                assert "revoked" in session["reason"]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "path", ["/", "/sign-in", "/customers/alice", "/customers/ann%20lee/journeys/bike", "/alerts/7"]
)
async def test_every_view_path_answers_the_console_page(
    browser: httpx.AsyncClient, path: str
) -> None:
    response = await browser.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<main id="view"' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy


async def test_assets_come_from_the_package_and_unknown_paths_stay_404(
    browser: httpx.AsyncClient,
) -> None:
    script = await browser.get("/assets/console/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert (await browser.get("/assets/vendor/echarts.min.js")).status_code == 200
    assert (await browser.get("/assets/console/../routes/console.py")).status_code == 404
    assert (await browser.get("/assets/console/%2e%2e/%2e%2e/bootstrap.py")).status_code == 404
    unknown = await browser.get("/no-such-view")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    page = (await browser.get("/")).text
    assert "http://" not in page
    assert "https://" not in page


async def test_the_views_data_totals_stream_search_and_products(service: Running) -> None:
    batch = [
        event("a1", "ann", "product_view", product_id="bike"),
        event("a2", "ann", "payment_failed", product_id="bike"),
        event("b1", "bob", "ad_click", channel="ads", product_id="kite"),
        event("b2", "bob", "ad_click", channel="ads", product_id="kite"),
        event("c1", "annika", "survey_response", channel="email", nps=3),
    ]
    assert (await service.writer.post("/v1/events", json={"batch": batch})).status_code == 202
    reader = service.reader
    stream = await settled(reader, "/v1/stream", lambda body: len(body["touchpoints"]) == 5)
    overview = await settled(
        reader, "/v1/overview", lambda body: sum(body["open_alerts"].values()) >= 1
    )

    received = [t["received_at"] for t in stream["touchpoints"]]
    assert received == sorted(received, reverse=True)
    assert overview["events_per_minute"] == pytest.approx(5 / 5)
    event_day = (NOW - timedelta(minutes=30)).date()
    assert overview["customers_active_today"] == (3 if event_day == NOW.date() else 0)
    assert set(overview["open_alerts"]) == {"critical", "warning", "info"}
    assert overview["map_lag"]["events"] == 0
    assert overview["map_lag"]["note"] is None

    found = (await reader.get("/v1/customers", params={"q": "ann"})).json()["customers"]
    assert sorted(c["customer_id"] for c in found) == ["ann", "annika"]
    with_ads = (await reader.get("/v1/customers", params={"channel": "ads"})).json()
    assert [c["customer_id"] for c in with_ads["customers"]] == ["bob"]
    assert (await reader.get("/v1/products")).json()["products"] == [
        {"product_id": "bike", "journeys": 1},
        {"product_id": "kite", "journeys": 1},
    ]
    model = (await reader.get("/v1/stage-model")).json()
    assert model["stages"][0] == "awareness"
    assert "payment_failed" in model["error_types"]


async def test_an_alert_shows_its_touchpoints_and_filters_by_them(service: Running) -> None:
    survey = event("s1", "vic", "survey_response", channel="email", nps=1, csat=1)
    assert (await service.writer.post("/v1/events", json={"batch": [survey]})).status_code == 202
    page = await settled(service.reader, "/v1/alerts", lambda body: body["alerts"])
    alert_id = page["alerts"][0]["id"]

    detail = (await service.reader.get(f"/v1/alerts/{alert_id}")).json()
    by_email = (await service.reader.get("/v1/alerts", params={"channel": "email"})).json()
    by_web = (await service.reader.get("/v1/alerts", params={"channel": "web"})).json()
    by_type = (await service.reader.get("/v1/alerts", params={"type": "survey_response"})).json()

    assert [(t["event_id"], t["nps"], t["csat"]) for t in detail["triggered_by"]] == [("s1", 1, 1)]
    assert [a["id"] for a in by_email["alerts"]] == [alert_id]
    assert by_web["alerts"] == []
    assert [a["id"] for a in by_type["alerts"]] == [alert_id]
