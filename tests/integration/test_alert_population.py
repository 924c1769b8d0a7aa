"""A population posted over HTTP as a user would: the alerts match a truth computed
independently from the events, near time order exactly, in any order without a
false alert left open or an alert or escalation missed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from shared.db.engine import create_engine
from tests.support.embedded import Running, running_embedded
from tests.support.maps import wait_until_consumed
from tests.support.polling import eventually
from tests.support.population import (
    Event,
    Truth,
    any_order,
    near_time_order,
    population,
    truth,
)

CUSTOMERS = 300
RANK = {"info": 1, "warning": 2, "critical": 3}


async def all_alerts(service: Running) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = (await service.reader.get("/v1/alerts", params=params)).json()
        found += page["alerts"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def highest(alerts: list[dict[str, Any]]) -> Truth:
    """(rule, customer, product, scope) -> the highest severity among their alerts."""
    seen: Truth = {}
    for alert in alerts:
        key = (alert["rule"], alert["customer_id"], alert["product_id"], alert["scope"])
        if RANK[alert["severity"]] > RANK.get(seen.get(key, ""), 0):
            seen[key] = alert["severity"]
    return seen


async def post(service: Running, order: list[Event]) -> None:
    for start in range(0, len(order), 250):
        batch = [e.wire() for e in order[start : start + 250]]
        response = await service.writer.post("/v1/events", json={"batch": batch})
        assert response.status_code == 202, response.text


async def caught_up(database_url: str) -> None:
    """Until every event is aggregated and every timer due by the wall clock has fired."""
    engine = create_engine(database_url)
    try:
        await wait_until_consumed(engine, within_seconds=90)

        async def no_timer_due() -> bool | None:
            async with engine.connect() as conn:
                due = await conn.scalar(
                    text("SELECT count(*) FROM timers WHERE due_at <= now() - interval '5 min'")
                )
            return due == 0 or None

        await eventually(no_timer_due, within=90, every=0.5)
    finally:
        await engine.dispose()


async def settled(
    service: Running, database_url: str, done: Callable[[list[dict[str, Any]]], bool]
) -> Any:
    """The alerts once the aggregator and its timers caught up and `done` holds."""
    await caught_up(database_url)

    async def probe() -> list[dict[str, Any]] | None:
        alerts = await all_alerts(service)
        return alerts if done(alerts) else None

    return await eventually(probe, within=30, every=0.5)


@pytest.fixture
def events() -> list[Event]:
    return population(CUSTOMERS, datetime.now(UTC))


async def test_near_time_order_gives_exactly_the_truth(
    clean_database: str, events: list[Event]
) -> None:
    expected = truth(events)
    async with running_embedded(clean_database) as service:
        await post(service, near_time_order(events))
        try:
            await settled(service, clean_database, lambda alerts: highest(alerts) == expected)
        except AssertionError:
            found = highest(await all_alerts(service))
            wrong = {k: (v, expected.get(k)) for k, v in found.items() if expected.get(k) != v}
            missing = {k: v for k, v in expected.items() if k not in found}
            raise AssertionError(f"wrong: {wrong}\nmissing: {missing}") from None


async def test_any_order_leaves_no_false_alert_open_and_misses_none(
    clean_database: str, events: list[Event]
) -> None:
    expected = truth(events)

    def false_open(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            a
            for a in alerts
            if a["status"] != "resolved"
            and (a["rule"], a["customer_id"], a["product_id"], a["scope"]) not in expected
        ]

    def missed(alerts: list[dict[str, Any]]) -> dict[Any, str]:
        found = highest(alerts)
        return {k: v for k, v in expected.items() if RANK.get(found.get(k, ""), 0) < RANK[v]}

    async with running_embedded(clean_database) as service:
        await post(service, any_order(events))
        try:
            await settled(
                service,
                clean_database,
                lambda alerts: not false_open(alerts) and not missed(alerts),
            )
        except AssertionError:
            alerts = await all_alerts(service)
            raise AssertionError(
                f"false and open: {false_open(alerts)}\nmissed: {missed(alerts)}"
            ) from None
