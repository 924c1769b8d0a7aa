"""Reads of alerts and their deliveries for the query API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.api import models
from shared.db.alert_store import ALERT_COLUMNS, alert_from_row
from shared.domain.alerts import Alert


@dataclass(frozen=True)
class AlertFilter:
    status: Sequence[str] = ()
    severity: Sequence[str] = ()
    rule: Sequence[str] = ()
    customer_id: str | None = None
    product_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Alerts a touchpoint of this type (and/or channel) triggered.
    touch_type: str | None = None
    touch_channel: str | None = None


async def list_alerts(
    conn: asyncpg.Connection,
    where: AlertFilter,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Alert]:
    """Newest activity first (last_seen_at, then id), after the cursor position."""
    clauses: list[str] = []
    args: list[Any] = []

    def add(clause: str, value: Any) -> None:
        args.append(value)
        clauses.append(clause.replace("?", f"${len(args)}"))

    if where.status:
        add("status = ANY(?::text[])", list(where.status))
    if where.severity:
        add("severity = ANY(?::text[])", list(where.severity))
    if where.rule:
        add("rule = ANY(?::text[])", list(where.rule))
    if where.customer_id is not None:
        add("customer_id = ?", where.customer_id)
    if where.product_id is not None:
        add("product_id = ?", where.product_id)
    if where.since is not None:
        add("last_seen_at >= ?", where.since)
    if where.until is not None:
        add("last_seen_at < ?", where.until)
    if where.touch_type is not None or where.touch_channel is not None:
        args.extend([where.touch_type, where.touch_channel])
        clauses.append(
            "EXISTS (SELECT 1 FROM touchpoints t WHERE t.event_id IN "
            "(SELECT jsonb_array_elements_text(alerts.touchpoints)) "
            f"AND (${len(args) - 1}::text IS NULL OR t.type = ${len(args) - 1}) "
            f"AND (${len(args)}::text IS NULL OR t.channel = ${len(args)}))"
        )
    if after is not None:
        args.extend(after)
        clauses.append(f"(last_seen_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    sql = (
        f"SELECT {ALERT_COLUMNS} FROM alerts"
        + (" WHERE " + " AND ".join(clauses) if clauses else "")
        + f" ORDER BY last_seen_at DESC, id DESC LIMIT ${len(args)}"
    )
    return [alert_from_row(row) for row in await conn.fetch(sql, *args)]


async def get_alert(conn: asyncpg.Connection, alert_id: int) -> Alert | None:
    row = await conn.fetchrow(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1", alert_id)
    return None if row is None else alert_from_row(row)


async def actions(conn: asyncpg.Connection, alert_id: int) -> list[models.AlertActionView]:
    rows = await conn.fetch(
        "SELECT action, actor, note, at FROM alert_actions WHERE alert_id = $1 ORDER BY id",
        alert_id,
    )
    return [
        models.AlertActionView(action=r["action"], by=r["actor"], note=r["note"], at=r["at"])
        for r in rows
    ]


async def deliveries(
    conn: asyncpg.Connection,
    *,
    alert_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[models.Delivery]:
    rows = await conn.fetch(
        "SELECT d.id, d.alert_id, d.notifier, e.change, d.status, d.attempts, "
        "d.next_attempt_at, d.last_error, d.delivered_at FROM deliveries d "
        "JOIN alert_events e ON e.id = d.event_id "
        "WHERE ($1::bigint IS NULL OR d.alert_id = $1) AND ($2::text IS NULL OR d.status = $2) "
        "ORDER BY d.id DESC LIMIT $3",
        alert_id,
        status,
        limit,
    )
    attempts = await conn.fetch(
        "SELECT delivery_id, attempted_at, duration_ms, status_code, outcome, error "
        "FROM delivery_attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY id",
        [row["id"] for row in rows],
    )
    history: dict[int, list[models.DeliveryAttempt]] = {}
    for attempt in attempts:
        history.setdefault(attempt["delivery_id"], []).append(
            models.DeliveryAttempt(
                attempted_at=attempt["attempted_at"],
                duration_ms=attempt["duration_ms"],
                status_code=attempt["status_code"],
                outcome=attempt["outcome"],
                error=attempt["error"],
            )
        )
    return [
        models.Delivery(
            id=row["id"],
            alert_id=row["alert_id"],
            notifier=row["notifier"],
            change=row["change"],
            status=row["status"],
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            last_error=row["last_error"],
            delivered_at=row["delivered_at"],
            history=history.get(row["id"], []),
        )
        for row in reversed(rows)
    ]
