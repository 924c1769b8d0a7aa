"""The alert store writes a whole book at once, keeping the one-active-alert-per-key rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.sql import alerts as alerts_sql
from shared.config import NotifierSettings
from shared.db import alert_store
from shared.db.engine import driver_connection
from shared.domain.alerts import AlertBook, Clear, Raise, Severity

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
COOLDOWN = timedelta(minutes=10)


def raised(at: datetime, touchpoint: str) -> Raise:
    return Raise("checkout_abandoned", "c1", "p1", Severity.WARNING, at, (touchpoint,), "left")


async def load_book(conn: asyncpg.Connection, keys: set[str]) -> AlertBook:
    """The book as the aggregator reads it: the keys' alerts, locked."""
    book = AlertBook()
    for alert in await alerts_sql.lock(conn, keys):
        book.load(alert)
    return book


async def save(engine: AsyncEngine, *signals: Raise | Clear) -> None:
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        book = await load_book(conn, {s.key for s in signals})
        for signal in signals:
            book.apply(signal, COOLDOWN)
        await alert_store.save_book(conn, book, notifiers=[], base_url="http://x", now=AT)


async def stored(engine: AsyncEngine) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    async with engine.connect() as sa_conn:
        conn = await driver_connection(sa_conn)
        alerts = await conn.fetch("SELECT id, status FROM alerts ORDER BY id")
        events = await conn.fetch("SELECT alert_id, change FROM alert_events ORDER BY id")
    ids = [row["id"] for row in alerts]
    return (
        [(ids.index(r["id"]), r["status"]) for r in alerts],
        [(ids.index(r["alert_id"]), r["change"]) for r in events],
    )


async def test_an_alert_resolved_and_raised_again_in_one_book_is_stored_in_order(
    engine: AsyncEngine,
) -> None:
    await save(engine, raised(AT, "t1"))
    later = AT + COOLDOWN * 2
    await save(
        engine,
        Clear("checkout_abandoned", "c1", "p1", later, "purchased"),
        raised(later + COOLDOWN * 2, "t2"),
    )

    alerts, events = await stored(engine)

    assert alerts == [(0, "resolved"), (1, "open")]
    assert events == [(0, "triggered"), (0, "resolved"), (1, "triggered")]


async def test_a_book_of_many_new_alerts_gets_distinct_increasing_ids(engine: AsyncEngine) -> None:
    signals = [
        Raise("error_spike", f"c{n}", "p1", Severity.CRITICAL, AT, (f"t{n}",), "errors")
        for n in range(50)
    ]
    await save(engine, *signals)

    alerts, events = await stored(engine)

    assert len(alerts) == 50
    assert events == [(n, "triggered") for n in range(50)]


async def test_a_backfill_alert_is_recorded_and_delivered_to_nobody(engine: AsyncEngine) -> None:
    hook = NotifierSettings(name="hook", kind="webhook", url="http://127.0.0.1:9/x")
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        book = await load_book(conn, {"checkout_abandoned|c1|p1", "detractor|c2|p1"})
        page_after = AT - timedelta(hours=24)
        book.apply(raised(AT - timedelta(days=30), "old"), COOLDOWN, page_after)
        fresh = Raise("detractor", "c2", "p1", Severity.WARNING, AT, ("new",), "NPS 2")
        book.apply(fresh, COOLDOWN, page_after)
        await alert_store.save_book(conn, book, notifiers=[hook], base_url="http://x", now=AT)
        rows = await conn.fetch(
            "SELECT a.rule, a.backfill, count(d.id) AS deliveries FROM alerts a LEFT JOIN "
            "deliveries d ON d.alert_id = a.id GROUP BY a.rule, a.backfill ORDER BY a.rule"
        )

    assert [tuple(row) for row in rows] == [
        ("checkout_abandoned", True, 0),
        ("detractor", False, 1),
    ]


async def test_a_key_is_read_as_its_open_alert_and_its_latest_resolve(
    engine: AsyncEngine,
) -> None:
    at = AT
    for n in range(3):  # three alerts of one key, each resolved, then a fourth open
        await save(engine, raised(at, f"t{n}"))
        await save(engine, Clear("checkout_abandoned", "c1", "p1", at + COOLDOWN, "bought"))
        at += COOLDOWN * 3
    await save(engine, raised(at, "t3"))

    async with engine.begin() as sa_conn:
        read = await alerts_sql.lock(await driver_connection(sa_conn), {raised(at, "").key})

    assert [(a.status.value, a.touchpoints) for a in read] == [
        ("resolved", ("t2",)),
        ("open", ("t3",)),
    ]
