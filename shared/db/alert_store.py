"""Alerts in PostgreSQL, with the outbox: each change and its deliveries, in one transaction.

Used by the aggregator (rules) and the query API (people acknowledging and
resolving). Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from shared.config import NotifierSettings
from shared.domain.alerts import Alert, AlertBook, AlertStatus, Change, Severity, Transition
from shared.schemas.alert_event import AlertEvent, alert_view

ALERT_COLUMNS = (
    "id, dedup_key, rule, scope, customer_id, product_id, severity, status, summary, "
    "first_seen_at, last_seen_at, occurrences, touchpoints, acknowledged_at, acknowledged_by, "
    "resolved_at, resolved_by, resolution_note, suppressed, backfill"
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
        backfill=row["backfill"],
    )


async def save_book(
    conn: asyncpg.Connection,
    book: AlertBook,
    *,
    notifiers: Sequence[NotifierSettings],
    base_url: str,
    now: datetime,
) -> None:
    """Store every changed alert, then an outbox event and deliveries per notification.

    A few statements for the whole book: a batch can raise thousands of alerts, and
    a round trip each was a fifth of the aggregator's time.
    """
    handles = sorted(book.dirty)
    stored = await _store_all(conn, [book.alerts[handle] for handle in handles])
    for handle, alert in zip(handles, stored, strict=True):
        book.alerts[handle] = alert
    await _write_changes(
        conn,
        [
            (replace(note.alert, id=book.alerts[note.handle].id), note.change)
            for note in book.notifications
        ],
        notifiers=notifiers,
        base_url=base_url,
        now=now,
    )


async def _next_ids(conn: asyncpg.Connection, table: str, count: int) -> list[int]:
    """`count` new ids of the table's sequence, in increasing order."""
    if not count:
        return []
    rows = await conn.fetch(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
        table,
        count,
    )
    return sorted(int(row[0]) for row in rows)


def _columns(alerts: Sequence[Alert]) -> list[list[Any]]:
    """The stored columns of the alerts, one array per column for unnest."""
    return [
        [a.key for a in alerts],
        [a.rule for a in alerts],
        [a.scope for a in alerts],
        [a.customer_id for a in alerts],
        [a.product_id for a in alerts],
        [a.severity.value for a in alerts],
        [a.status.value for a in alerts],
        [a.summary for a in alerts],
        [a.first_seen for a in alerts],
        [a.last_seen for a in alerts],
        [a.occurrences for a in alerts],
        [orjson.dumps(list(a.touchpoints)).decode() for a in alerts],
        [a.acknowledged_at for a in alerts],
        [a.acknowledged_by for a in alerts],
        [a.resolved_at for a in alerts],
        [a.resolved_by for a in alerts],
        [a.resolution_note for a in alerts],
        [a.suppressed for a in alerts],
        [a.backfill for a in alerts],
    ]


_UNNEST_ALERTS = (
    "unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "$7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::int[], "
    "$13::jsonb[], $14::timestamptz[], $15::text[], $16::timestamptz[], $17::text[], "
    "$18::text[], $19::int[], $20::bool[]) AS u(id, dedup_key, rule, scope, customer_id, "
    "product_id, severity, status, summary, first_seen_at, last_seen_at, occurrences, "
    "touchpoints, acknowledged_at, acknowledged_by, resolved_at, resolved_by, "
    "resolution_note, suppressed, backfill)"
)


async def _store_all(conn: asyncpg.Connection, alerts: Sequence[Alert]) -> list[Alert]:
    """Update the changed alerts, then insert the new ones (giving them ids); in order."""
    ids = iter(await _next_ids(conn, "alerts", sum(a.id is None for a in alerts)))
    stored = [a if a.id is not None else replace(a, id=next(ids)) for a in alerts]
    inserted = [s for a, s in zip(alerts, stored, strict=True) if a.id is None]
    # Updates first: an alert resolved in this batch frees its key for a new one.
    changed = [a for a in alerts if a.id is not None]
    if changed:
        await conn.execute(
            "UPDATE alerts SET severity = u.severity, status = u.status, summary = u.summary, "
            "first_seen_at = u.first_seen_at, last_seen_at = u.last_seen_at, "
            "occurrences = u.occurrences, touchpoints = u.touchpoints, "
            "acknowledged_at = u.acknowledged_at, acknowledged_by = u.acknowledged_by, "
            "resolved_at = u.resolved_at, resolved_by = u.resolved_by, "
            "resolution_note = u.resolution_note, suppressed = u.suppressed, "
            f"updated_at = now() FROM {_UNNEST_ALERTS} "
            "WHERE alerts.id = u.id AND alerts.dedup_key = u.dedup_key "
            "AND alerts.rule = u.rule AND alerts.scope IS NOT DISTINCT FROM u.scope "
            "AND alerts.customer_id IS NOT DISTINCT FROM u.customer_id "
            "AND alerts.product_id IS NOT DISTINCT FROM u.product_id",
            [a.id for a in changed],
            *_columns(changed),
        )
    if inserted:
        await conn.execute(
            "INSERT INTO alerts (id, dedup_key, rule, scope, customer_id, product_id, "
            "severity, status, summary, first_seen_at, last_seen_at, occurrences, touchpoints, "
            "acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution_note, "
            f"suppressed, backfill) SELECT * FROM {_UNNEST_ALERTS}",
            [a.id for a in inserted],
            *_columns(inserted),
        )
    return stored


async def _write_changes(
    conn: asyncpg.Connection,
    changes: Sequence[tuple[Alert, Change]],
    *,
    notifiers: Sequence[NotifierSettings],
    base_url: str,
    now: datetime,
) -> None:
    """The outbox: one event per change, one delivery per interested notifier; in order.

    A backfill alert's changes are recorded as events, and delivered to nobody.
    """
    event_ids = await _next_ids(conn, "alert_events", len(changes))
    if not event_ids:
        return
    await conn.execute(
        "INSERT INTO alert_events (id, alert_id, change, payload) "
        "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[])",
        event_ids,
        [alert.id for alert, _ in changes],
        [change.value for _, change in changes],
        [
            orjson.dumps(
                AlertEvent(event=change, alert=alert_view(alert, base_url)).model_dump(mode="json")
            ).decode()
            for alert, change in changes
        ],
    )
    deliveries = [
        (event_id, alert.id, notifier.name)
        for event_id, (alert, _) in zip(event_ids, changes, strict=True)
        for notifier in notifiers
        if alert.severity.at_least(notifier.min_severity) and not alert.backfill
    ]
    if deliveries:
        await conn.execute(
            "INSERT INTO deliveries (event_id, alert_id, notifier, status, attempts, "
            "next_attempt_at) SELECT e, a, n, 'pending', 0, $4 "
            "FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(e, a, n)",
            [d[0] for d in deliveries],
            [d[1] for d in deliveries],
            [d[2] for d in deliveries],
            now,
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
    """Persist a person's action on an alert, with its outbox event and its history entry."""
    [alert] = await _store_all(conn, [transition.alert])
    if transition.action is not None:
        action = transition.action
        await conn.execute(
            "INSERT INTO alert_actions (alert_id, action, actor, note, at) "
            "VALUES ($1, $2, $3, $4, $5)",
            alert.id,
            action.change.value,
            action.by,
            action.note,
            action.at,
        )
    if transition.change is not None:
        await _write_changes(
            conn, [(alert, transition.change)], notifiers=notifiers, base_url=base_url, now=now
        )
    return alert
