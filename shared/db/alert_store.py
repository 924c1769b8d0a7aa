"""Alerts in PostgreSQL, with the outbox: each change and its deliveries, in one transaction.

Used by the aggregator (rules) and the query API (people acknowledging and
resolving). Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

import asyncpg
import orjson

from shared.config import NotifierSettings
from shared.db.locks import ALERT_LOCKS, advisory_locks
from shared.domain.alerts import Alert, AlertBook, AlertStatus, Change, Severity, Transition
from shared.schemas.alert_event import AlertEvent, alert_view

ALERT_COLUMNS = (
    "id, dedup_key, rule, scope, customer_id, product_id, severity, status, summary, "
    "first_seen_at, last_seen_at, occurrences, touchpoints, acknowledged_at, acknowledged_by, "
    "resolved_at, resolved_by, resolution_note, suppressed"
)


def alert_from_row(row: asyncpg.Record) -> Alert:
    return Alert(
        id=row["id"],
        key=row["dedup_key"],
        rule=row["rule"],
        scope=row["scope"],
        customer_id=row["customer_id"],
        product_id=row["product_id"],
        severity=Severity(row["severity"]),
        status=AlertStatus(row["status"]),
        summary=row["summary"],
        first_seen=row["first_seen_at"],
        last_seen=row["last_seen_at"],
        occurrences=row["occurrences"],
        touchpoints=tuple(row["touchpoints"]),
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        resolution_note=row["resolution_note"],
        suppressed=row["suppressed"],
    )


async def load_book(conn: asyncpg.Connection, keys: Iterable[str]) -> AlertBook:
    """The active alert and the last resolved one of each key, locked for this transaction."""
    wanted = sorted(set(keys))
    book = AlertBook()
    if not wanted:
        return book
    # Serialise writers of the same keys (systemic alerts span partitions).
    await conn.execute(advisory_locks(ALERT_LOCKS), wanted)
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (dedup_key, status = 'resolved') {ALERT_COLUMNS} FROM alerts "
        "WHERE dedup_key = ANY($1::text[]) "
        "ORDER BY dedup_key, status = 'resolved', resolved_at DESC NULLS FIRST, id DESC",
        wanted,
    )
    for row in rows:
        book.load(alert_from_row(row))
    return book


async def active_alerts(conn: asyncpg.Connection, rule: str) -> list[Alert]:
    rows = await conn.fetch(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE rule = $1 AND status <> 'resolved'", rule
    )
    return [alert_from_row(row) for row in rows]


async def save_book(
    conn: asyncpg.Connection,
    book: AlertBook,
    *,
    notifiers: Sequence[NotifierSettings],
    base_url: str,
    now: datetime,
) -> None:
    """Store every changed alert, then an outbox event and deliveries per notification."""
    for handle in sorted(book.dirty):
        book.alerts[handle] = await _store(conn, book.alerts[handle])
    for note in book.notifications:
        stored_id = book.alerts[note.handle].id
        await write_change(
            conn,
            replace(note.alert, id=stored_id),
            note.change,
            notifiers=notifiers,
            base_url=base_url,
            now=now,
        )


async def _store(conn: asyncpg.Connection, alert: Alert) -> Alert:
    values = (
        alert.key,
        alert.rule,
        alert.scope,
        alert.customer_id,
        alert.product_id,
        alert.severity.value,
        alert.status.value,
        alert.summary,
        alert.first_seen,
        alert.last_seen,
        alert.occurrences,
        orjson.dumps(list(alert.touchpoints)).decode(),
        alert.acknowledged_at,
        alert.acknowledged_by,
        alert.resolved_at,
        alert.resolved_by,
        alert.resolution_note,
        alert.suppressed,
    )
    if alert.id is None:
        alert_id = await conn.fetchval(
            "INSERT INTO alerts (dedup_key, rule, scope, customer_id, product_id, severity, "
            "status, summary, first_seen_at, last_seen_at, occurrences, touchpoints, "
            "acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution_note, "
            "suppressed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, "
            "$13, $14, $15, $16, $17, $18) RETURNING id",
            *values,
        )
        return replace(alert, id=int(alert_id))
    await conn.execute(
        "UPDATE alerts SET severity = $6, status = $7, summary = $8, first_seen_at = $9, "
        "last_seen_at = $10, occurrences = $11, touchpoints = $12::jsonb, "
        "acknowledged_at = $13, acknowledged_by = $14, resolved_at = $15, resolved_by = $16, "
        "resolution_note = $17, suppressed = $18, updated_at = now() "
        "WHERE id = $19 AND dedup_key = $1 AND rule = $2 AND scope IS NOT DISTINCT FROM $3 "
        "AND customer_id IS NOT DISTINCT FROM $4 AND product_id IS NOT DISTINCT FROM $5",
        *values,
        alert.id,
    )
    return alert


async def write_change(
    conn: asyncpg.Connection,
    alert: Alert,
    change: Change,
    *,
    notifiers: Sequence[NotifierSettings],
    base_url: str,
    now: datetime,
) -> None:
    """The outbox: one event for the change, one delivery per interested notifier."""
    payload = AlertEvent(event=change, alert=alert_view(alert, base_url)).model_dump(mode="json")
    event_id = await conn.fetchval(
        "INSERT INTO alert_events (alert_id, change, payload) VALUES ($1, $2, $3::jsonb) "
        "RETURNING id",
        alert.id,
        change.value,
        orjson.dumps(payload).decode(),
    )
    interested = [n.name for n in notifiers if alert.severity.at_least(n.min_severity)]
    if interested:
        await conn.executemany(
            "INSERT INTO deliveries (event_id, alert_id, notifier, status, attempts, "
            "next_attempt_at) VALUES ($1, $2, $3, 'pending', 0, $4)",
            [(event_id, alert.id, name, now) for name in interested],
        )


async def lock_alert(conn: asyncpg.Connection, alert_id: int) -> Alert | None:
    row = await conn.fetchrow(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1 FOR UPDATE", alert_id
    )
    return None if row is None else alert_from_row(row)


async def store_transition(
    conn: asyncpg.Connection,
    transition: Transition,
    *,
    notifiers: Sequence[NotifierSettings],
    base_url: str,
    now: datetime,
) -> Alert:
    """Persist a person's action on an alert, with its outbox event."""
    alert = await _store(conn, transition.alert)
    if transition.change is not None:
        await write_change(
            conn, alert, transition.change, notifiers=notifiers, base_url=base_url, now=now
        )
    return alert
