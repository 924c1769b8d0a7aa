"""Friction alerts end to end: rules, timers, the outbox, notifiers over real HTTP, the API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.domain.friction.config import FrictionRules
from shared.log.interface import LogEntry
from shared.log.postgres import PostgresLogWriter
from tests.support.aggregating import append, running, table_aggregator
from tests.support.alertmanager import alertmanager
from tests.support.clock import FakeClock
from tests.support.embedded import Running, running_embedded
from tests.support.events import log_event
from tests.support.maps import wait_until_consumed
from tests.support.polling import eventually
from tests.support.receivers import Receiver, receiver

SECRET = "s3cret"
FAST_RULES = FrictionRules(
    checkout_abandon_after=timedelta(seconds=1), allowed_lateness=timedelta(0)
)


def webhook(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "ops", "kind": "webhook", "url": url, "secret": SECRET, **extra}


def fast_delivery(**extra: Any) -> dict[str, Any]:
    return {
        "rules": FAST_RULES,
        "delivery_backoff_seconds": 0.05,
        "delivery_backoff_max_seconds": 0.2,
        **extra,
    }


def verify(request_headers: dict[str, str], body: bytes) -> bool:
    timestamp = request_headers["x-journeymap-timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(
        request_headers["x-journeymap-signature"], "sha256=" + expected.hexdigest()
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


async def alerts(service: Running, **query: str) -> list[dict[str, Any]]:
    response = await service.reader.get("/v1/alerts", params=query)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["alerts"]
    return found


async def received(target: Receiver, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        return [r.json for r in target.accepted] if len(target.accepted) >= count else None

    return await eventually(probe)


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as target:
        yield target


async def test_abandoned_checkout_alerts_a_webhook_and_people_act_on_it(
    clean_database: str, hook: Receiver
) -> None:
    settings = fast_delivery(notifiers=[webhook(hook.url)])
    async with running_embedded(clean_database, **settings) as service:
        checkout = {
            "event_id": "co-1",
            "customer_id": "zoe",
            "type": "checkout_started",
            "product_id": "bike",
            "timestamp": now_iso(),
        }
        assert (await service.writer.post("/v1/events", json=checkout)).status_code == 202

        async def opened() -> list[dict[str, Any]] | None:
            return await alerts(service, rule="checkout_abandoned") or None

        (alert,) = await eventually(opened)
        assert alert["status"] == "open"
        assert alert["severity"] == "warning"
        assert (alert["customer_id"], alert["product_id"]) == ("zoe", "bike")
        assert alert["touchpoints"] == ["co-1"]
        assert alert["map_url"].endswith("/v1/customers/zoe/journeys/bike")
        (triggered,) = await received(hook, 1)
        assert triggered["event"] == "triggered"
        assert triggered["alert"]["id"] == alert["id"]
        assert verify(hook.accepted[0].headers, hook.accepted[0].body)

        path = f"/v1/alerts/{alert['id']}"
        refused = await service.reader.post(f"{path}/acknowledge", json={})
        assert refused.status_code == 403
        acked = await service.responder.post(
            f"{path}/acknowledge", json={"by": "ann", "note": "calling her"}
        )
        assert acked.json()["status"] == "acknowledged"
        assert acked.json()["acknowledged_by"] == "ann"
        done = await service.responder.post(f"{path}/resolve", json={"note": "called her"})
        assert done.json()["status"] == "resolved"
        assert done.json()["resolution_note"] == "called her"
        history = (await service.reader.get(path)).json()["actions"]
        assert [(a["action"], a["by"], a["note"]) for a in history] == [
            ("acknowledged", "ann", "calling her"),
            ("resolved", "alerts-key", "called her"),
        ]
        assert history[0]["at"] <= history[1]["at"]
        again = await service.responder.post(f"{path}/resolve", json={})
        assert again.status_code == 409

        events = await received(hook, 3)
        assert [e["event"] for e in events] == ["triggered", "acknowledged", "resolved"]
        assert all(verify(r.headers, r.body) for r in hook.accepted)

        async def settled() -> list[tuple[str, str]] | None:
            # The receiver answers before the dispatcher commits the delivery.
            deliveries = (await service.reader.get(path)).json()["deliveries"]
            found = [(d["change"], d["status"]) for d in deliveries]
            return found if all(status != "pending" for _, status in found) else None

        assert await eventually(settled) == [
            ("triggered", "delivered"),
            ("acknowledged", "delivered"),
            ("resolved", "delivered"),
        ]
        metrics = (await service.reader.get("/metrics")).text
        assert (
            'journeymap_alerts_raised_total{rule="checkout_abandoned",severity="warning"} 1.0'
            in metrics
        )
        assert 'journeymap_alert_deliveries_total{notifier="ops",outcome="delivered"} 3.0' in (
            metrics
        )


async def test_a_purchase_in_time_cancels_the_timer(clean_database: str, hook: Receiver) -> None:
    rules = FrictionRules(
        checkout_abandon_after=timedelta(seconds=2), allowed_lateness=timedelta(0)
    )
    async with running_embedded(
        clean_database, rules=rules, notifiers=[webhook(hook.url)]
    ) as service:
        base = {"customer_id": "yves", "product_id": "bike", "timestamp": now_iso()}
        batch = [
            {**base, "event_id": "c", "type": "checkout_started"},
            {**base, "event_id": "p", "type": "purchase"},
        ]
        assert (await service.writer.post("/v1/events", json={"batch": batch})).status_code == 202
        await asyncio.sleep(3.5)

        assert await alerts(service) == []
        assert hook.requests == []


async def test_a_failing_webhook_gets_the_alert_exactly_once_after_retries(
    clean_database: str,
) -> None:
    async with (
        receiver(failures=2) as flaky,
        running_embedded(
            clean_database, **fast_delivery(notifiers=[webhook(flaky.url)])
        ) as service,
    ):
        survey = {"customer_id": "vic", "type": "survey_response", "nps": 2, "event_id": "s1"}
        assert (await service.writer.post("/v1/events", json=survey)).status_code == 202

        (event,) = await received(flaky, 1)

        assert event["alert"]["rule"] == "detractor"
        assert len(flaky.requests) == 3
        assert len({r.headers["x-journeymap-delivery"] for r in flaky.requests}) == 1
        assert verify(flaky.accepted[0].headers, flaky.accepted[0].body)
        path = f"/v1/alerts/{event['alert']['id']}"

        async def delivered() -> dict[str, Any] | None:
            (found,) = (await service.reader.get(path)).json()["deliveries"]
            return found if found["status"] == "delivered" else None

        delivery = await eventually(delivered)
        assert delivery["attempts"] == 3
        assert [a["outcome"] for a in delivery["history"]] == ["retry", "retry", "delivered"]
        assert [a["status_code"] for a in delivery["history"]] == [500, 500, 200]


@pytest.mark.allow_error_logs  # a delivery given up is logged as an error
async def test_a_receiver_that_stays_down_ends_failed_and_visible(clean_database: str) -> None:
    async with (
        receiver(failures=1000) as down,
        running_embedded(
            clean_database,
            **fast_delivery(notifiers=[webhook(down.url)], delivery_max_attempts=3),
        ) as service,
    ):
        survey = {"customer_id": "uma", "type": "survey_response", "csat": 1}
        await service.writer.post("/v1/events", json=survey)

        async def failed() -> list[dict[str, Any]] | None:
            response = await service.reader.get("/v1/deliveries", params={"status": "failed"})
            return response.json()["deliveries"] or None

        (delivery,) = await eventually(failed)
        assert delivery["attempts"] == 3
        assert delivery["last_error"].startswith("HTTP 500")
        assert len(down.requests) == 3


async def test_pagerduty_sees_trigger_acknowledge_resolve_with_one_dedup_key(
    clean_database: str,
) -> None:
    async with receiver(success_status=202) as pagerduty:
        notifier = {
            "name": "pd",
            "kind": "pagerduty",
            "url": f"{pagerduty.url}/v2/enqueue",
            "routing_key": "R0UTING",
        }
        async with running_embedded(
            clean_database, **fast_delivery(notifiers=[notifier])
        ) as service:
            contacts = [
                {"customer_id": "tom", "type": t, "channel": c, "event_id": t}
                for t, c in [
                    ("call", "phone"),
                    ("chat_started", "chat"),
                    ("support_ticket_opened", "email"),
                ]
            ]
            await service.writer.post("/v1/events", json={"batch": contacts})
            (first,) = await received(pagerduty, 1)
            alert_id = (await alerts(service, rule="repeated_support"))[0]["id"]
            await service.responder.post(f"/v1/alerts/{alert_id}/acknowledge")
            await service.responder.post(f"/v1/alerts/{alert_id}/resolve")
            events = await received(pagerduty, 3)

    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert len({e["dedup_key"] for e in events}) == 1
    assert {e["routing_key"] for e in events} == {"R0UTING"}
    assert first["payload"]["severity"] == "critical"  # three contacts on three channels
    assert first["payload"]["source"] == "journeymap"
    assert first["payload"]["summary"].startswith("repeated_support:")
    assert all(r.path == "/v2/enqueue" for r in pagerduty.requests)


async def test_an_overdue_timer_fires_once_after_a_restart(engine: AsyncEngine) -> None:
    clock = FakeClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))

    async def run_for(seconds: float) -> None:
        # A new aggregator each time, as after a restart; batches as large as the default.
        async with running(table_aggregator(engine, batch_max=5000, clock=clock)):
            await asyncio.sleep(seconds)

    async def count(sql: str) -> int:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(sql)) or 0)

    writer = PostgresLogWriter(engine)
    await writer.start()
    checkout = log_event("co", "checkout_started", 0)
    await writer.append([LogEntry(b"c1", checkout.to_bytes())])
    await writer.stop()
    await run_for(1.5)
    checkout_timers = "SELECT count(*) FROM timers WHERE rule = 'checkout_abandoned'"
    assert await count(checkout_timers) == 1
    assert await count("SELECT count(*) FROM alerts") == 0

    clock.advance(timedelta(minutes=36))  # past 30 min + 5 min lateness, while stopped
    await run_for(1.5)
    await run_for(1.5)  # and once more: it must not fire again

    assert await count("SELECT count(*) FROM alerts") == 1
    assert await count("SELECT occurrences FROM alerts WHERE rule = 'checkout_abandoned'") == 1
    assert await count(checkout_timers) == 0


async def test_a_late_checkout_whose_timer_fires_in_its_batch_sees_the_later_purchase(
    engine: AsyncEngine, writer: PostgresLogWriter
) -> None:
    """The purchase came 45 minutes after the checkout, and arrived first; the checkout's
    timer fires on the next event of the same batch. Abandoned (the purchase was past
    the 30 minutes), and cleared by that purchase at once."""
    clock = FakeClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))  # no timer fires by it
    async with running(table_aggregator(engine, batch_max=5000, clock=clock)):
        await append(writer, [log_event("buy", "purchase", 45)])
        await wait_until_consumed(engine)
        later = log_event("other", "page_view", 60, customer_id="c2")
        await append(writer, [log_event("co", "checkout_started", 0), later])
        await wait_until_consumed(engine)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT status FROM alerts WHERE rule = 'checkout_abandoned'")
        )
        statuses = [row[0] for row in rows]

    assert statuses == ["resolved"]


async def test_a_real_alertmanager_shows_the_alert_until_it_is_resolved(
    clean_database: str, tmp_path: Path
) -> None:
    async with alertmanager(tmp_path / "am") as am_url, httpx.AsyncClient(base_url=am_url) as am:
        notifier = {"name": "am", "kind": "alertmanager", "url": am_url, "min_severity": "info"}
        async with running_embedded(
            clean_database,
            **fast_delivery(notifiers=[notifier], alertmanager_resend_seconds=0.5),
        ) as service:
            survey = {"customer_id": "sam", "type": "survey_response", "nps": 0, "event_id": "n"}
            await service.writer.post("/v1/events", json=survey)

            async def in_alertmanager() -> list[dict[str, Any]] | None:
                found = (await am.get("/api/v2/alerts", params={"active": "true"})).json()
                mine = [a for a in found if a["labels"].get("alertname") == "detractor"]
                return mine or None

            (shown,) = await eventually(in_alertmanager)
            assert shown["labels"]["customer_id"] == "sam"
            assert shown["labels"]["severity"] == "warning"
            assert shown["status"]["state"] == "active"
            assert shown["annotations"]["summary"] == "detractor: NPS 0"
            alert_id = shown["labels"]["journeymap_alert_id"]

            await service.responder.post(f"/v1/alerts/{alert_id}/resolve", json={"by": "sue"})

            await eventually(_absent(am))


def _absent(am: httpx.AsyncClient) -> Any:
    async def probe() -> bool | None:
        found = (await am.get("/api/v2/alerts", params={"active": "true"})).json()
        return not any(a["labels"].get("alertname") == "detractor" for a in found) or None

    return probe
