"""The alerts a batch's rules can change: read before the rules run, checked on save.

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


async def for_rules(
    conn: asyncpg.Connection, customers: Iterable[str], products: Iterable[str]
) -> list[Alert]:
    """Per dedup key, the active alert and the last resolved one, of every key the
    rules can touch: the customers' alerts, every active systemic alert (a quiet one is
    cleared by any partition's watermark) and the products' resolved systemic ones."""
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (dedup_key, status = 'resolved') {ALERT_COLUMNS} FROM ("
        f" SELECT {ALERT_COLUMNS} FROM alerts WHERE customer_id = ANY($1::text[]) UNION ALL"
        f" SELECT {ALERT_COLUMNS} FROM alerts WHERE rule = $3 AND customer_id IS NULL"
        "  AND (status <> 'resolved' OR product_id = ANY($2::text[]))) AS a "
        "ORDER BY dedup_key, status = 'resolved', resolved_at DESC NULLS FIRST, id DESC",
        sorted(set(customers)),
        sorted(set(products)),
        SYSTEMIC_FRICTION,
    )
    return [alert_from_row(row) for row in rows]


async def lock(conn: asyncpg.Connection, keys: Iterable[str], ids: Iterable[int]) -> list[Alert]:
    """Lock these keys until commit, and return their active alerts and the given ones.

    The keys' advisory locks serialise the writers of new alerts (systemic ones span
    partitions); the row locks hold off a person's acknowledgement until commit.
    """
    wanted = sorted(set(keys))
    await conn.execute(advisory_locks(ALERT_LOCKS), wanted)
    rows = await conn.fetch(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE dedup_key = ANY($1::text[]) "
        "AND (status <> 'resolved' OR id = ANY($2::bigint[])) ORDER BY id FOR UPDATE",
        wanted,
        sorted(set(ids)),
    )
    return [alert_from_row(row) for row in rows]


async def has_active_systemic(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE rule = $1 AND status <> 'resolved')",
            SYSTEMIC_FRICTION,
        )
    )
