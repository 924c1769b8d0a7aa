"""The outbox's deliveries: claimed one at a time, attempted, finished or rescheduled."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from shared.db.alert_store import ALERT_COLUMNS, alert_from_row
from shared.domain.alerts import Alert

_CLAIM = (
    "SELECT d.id, d.notifier, d.attempts, d.created_at, e.payload FROM deliveries d "
    "JOIN alert_events e ON e.id = d.event_id "
    "WHERE d.status = 'pending' AND d.next_attempt_at <= $1 "
    "AND NOT EXISTS (SELECT 1 FROM deliveries earlier WHERE earlier.alert_id = d.alert_id "
    "AND earlier.notifier = d.notifier AND earlier.id < d.id AND earlier.status = 'pending') "
    "ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED"
)


async def claim(conn: asyncpg.Connection, now: datetime) -> asyncpg.Record | None:
    """The earliest due delivery no earlier one of its alert and notifier waits before,
    locked for this transaction (other workers skip it)."""
    row: asyncpg.Record | None = await conn.fetchrow(_CLAIM, now)
    return row


async def record_attempt(
    conn: asyncpg.Connection,
    delivery_id: int,
    at: datetime,
    duration_ms: float,
    status_code: int | None,
    outcome: str,
    error: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO delivery_attempts (delivery_id, attempted_at, duration_ms, "
        "status_code, outcome, error) VALUES ($1, $2, $3, $4, $5, $6)",
        delivery_id,
        at,
        duration_ms,
        status_code,
        outcome,
        error,
    )


async def finish(
    conn: asyncpg.Connection,
    delivery_id: int,
    status: str,
    error: str | None,
    attempts: int | None,
) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = $2, last_error = $3, "
        "attempts = COALESCE($4, attempts), "
        "delivered_at = CASE WHEN $2 = 'delivered' THEN now() END WHERE id = $1",
        delivery_id,
        status,
        error,
        attempts,
    )


async def reschedule(
    conn: asyncpg.Connection, delivery_id: int, attempts: int, error: str | None, at: datetime
) -> None:
    await conn.execute(
        "UPDATE deliveries SET attempts = $2, last_error = $3, next_attempt_at = $4 WHERE id = $1",
        delivery_id,
        attempts,
        error,
        at,
    )


async def active_alerts(conn: asyncpg.Connection) -> list[Alert]:
    rows = await conn.fetch(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE status <> 'resolved' ORDER BY id"
    )
    return [alert_from_row(row) for row in rows]


async def gauges(conn: asyncpg.Connection) -> tuple[dict[str, int], int]:
    """Active alerts per status, and pending timers."""
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM alerts WHERE status <> 'resolved' GROUP BY status"
    )
    timers: int = await conn.fetchval("SELECT count(*) FROM timers")
    return {row["status"]: row["n"] for row in rows}, timers
