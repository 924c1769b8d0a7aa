"""Links from anonymous visitors to the customers they turned out to be."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from shared.db.locks import IDENTITY_LOCKS, advisory_locks


async def lock(conn: asyncpg.Connection, anonymous_ids: Iterable[str]) -> None:
    """One linker per anonymous id at a time (their events may be on another partition)."""
    await conn.execute(advisory_locks(IDENTITY_LOCKS), sorted(set(anonymous_ids)))


async def links(conn: asyncpg.Connection, anonymous_ids: Iterable[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT anonymous_id, customer_id FROM identities WHERE anonymous_id = ANY($1::text[])",
        sorted(set(anonymous_ids)),
    )
    return {row["anonymous_id"]: row["customer_id"] for row in rows}


async def identified(conn: asyncpg.Connection, ids: Iterable[str]) -> set[str]:
    """Those of the ids that were sent as a known customer's id."""
    rows = await conn.fetch(
        "SELECT DISTINCT customer_id FROM touchpoints "
        "WHERE customer_id = ANY($1::text[]) AND identified",
        sorted(set(ids)),
    )
    return {row["customer_id"] for row in rows}


async def link(conn: asyncpg.Connection, anonymous_id: str, customer: str, event_id: str) -> None:
    """Record the link, and file the anonymous id's stored touchpoints under the customer."""
    await conn.execute(
        "INSERT INTO identities (anonymous_id, customer_id, linked_at, event_id) "
        "VALUES ($1, $2, now(), $3)",
        anonymous_id,
        customer,
        event_id,
    )
    await conn.execute(
        "UPDATE touchpoints SET customer_id = $2 "
        "WHERE anonymous_id = $1 AND NOT identified AND customer_id = $1",
        anonymous_id,
        customer,
    )
