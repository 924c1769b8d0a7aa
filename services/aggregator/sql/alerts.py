"""The alerts a batch's signals name, locked; and the open systemic ones.

The alerts and their outbox are written by shared/db/alert_store.py, which the query
API uses for people's actions too, so both write an alert's change the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from shared.db.alert_store import ALERT_COLUMNS, alert_from_row
from shared.db.locks import ALERT_LOCKS, advisory_locks
from shared.domain.alerts import Alert
from shared.domain.friction.config import SYSTEMIC_FRICTION


async def lock(conn: asyncpg.Connection, keys: Iterable[str]) -> list[Alert]:
    """The active alert and the last resolved one of each key, locked until commit.

    The keys' advisory locks serialise the writers of new alerts (systemic ones span
    partitions); the row locks hold off a person's acknowledgement until commit.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return []
    await conn.execute(advisory_locks(ALERT_LOCKS), wanted)
    # Two index lookups per key (its open alert, its latest resolve): a key's
    # resolved alerts pile up over the years, and reading them all cost an event more
    # the longer its customer had been around.
    rows = await conn.fetch(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id IN ("
        " SELECT a.id FROM unnest($1::text[]) AS k(key) CROSS JOIN LATERAL ("
        "  (SELECT id FROM alerts WHERE dedup_key = k.key AND status <> 'resolved' LIMIT 1)"
        "  UNION ALL"
        "  (SELECT id FROM alerts WHERE dedup_key = k.key AND status = 'resolved'"
        "   ORDER BY resolved_at DESC, id DESC LIMIT 1)) AS a) "
        "ORDER BY id FOR UPDATE",
        wanted,
    )
    return [alert_from_row(row) for row in rows]


async def active_systemic(conn: asyncpg.Connection) -> list[Alert]:
    """Every open systemic alert: any partition's watermark clears a quiet one."""
    rows = await conn.fetch(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE rule = $1 AND status <> 'resolved'",
        SYSTEMIC_FRICTION,
    )
    return [alert_from_row(row) for row in rows]


async def has_active_systemic(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE rule = $1 AND status <> 'resolved')",
            SYSTEMIC_FRICTION,
        )
    )
