"""Reads of one customer's maps for the query API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.db.state_json import experience_from_json, journey_from_json
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState
from shared.domain.touchpoint import Touchpoint


@dataclass(frozen=True, slots=True)
class Journey:
    state: JourneyState
    abandoned: bool


async def fingerprint(conn: asyncpg.Connection, customer_id: str) -> str | None:
    """The versions of everything stored for the customer; None for an unknown one."""
    row = await conn.fetchrow(
        "SELECT (SELECT version FROM experiences WHERE customer_id = $1) AS experience, "
        "(SELECT string_agg(product_id || '/' || instance || '@' || version, ',' "
        " ORDER BY product_id, instance) FROM journeys WHERE customer_id = $1) AS journeys",
        customer_id,
    )
    if row is None or row["experience"] is None:
        return None
    return f"{row['experience']}:{row['journeys'] or ''}"


async def experience(conn: asyncpg.Connection, customer_id: str) -> ExperienceState | None:
    state = await conn.fetchval("SELECT state FROM experiences WHERE customer_id = $1", customer_id)
    return None if state is None else experience_from_json(state)


async def journeys(
    conn: asyncpg.Connection,
    customer_id: str,
    *,
    after: tuple[str, int] | None = None,
    limit: int = 1000,
) -> list[Journey]:
    """The customer's started journey instances, by product and instance."""
    rows = await conn.fetch(
        "SELECT state, abandoned_at FROM journeys WHERE customer_id = $1 "
        "AND stage IS NOT NULL AND ($2::text IS NULL OR (product_id, instance) > ($2, $3)) "
        "ORDER BY product_id, instance LIMIT $4",
        customer_id,
        None if after is None else after[0],
        None if after is None else after[1],
        limit,
    )
    return [Journey(journey_from_json(r["state"]), r["abandoned_at"] is not None) for r in rows]


async def journey(
    conn: asyncpg.Connection, customer_id: str, product_id: str, instance: int | None
) -> Journey | None:
    """One instance, or the latest when `instance` is None."""
    row = await conn.fetchrow(
        "SELECT state, abandoned_at FROM journeys WHERE customer_id = $1 AND product_id = $2 "
        "AND stage IS NOT NULL AND ($3::int IS NULL OR instance = $3) "
        "ORDER BY instance DESC LIMIT 1",
        customer_id,
        product_id,
        instance,
    )
    if row is None:
        return None
    return Journey(journey_from_json(row["state"]), row["abandoned_at"] is not None)


async def timeline(
    conn: asyncpg.Connection,
    customer_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[Touchpoint]:
    """The customer's touchpoints, newest first."""
    rows = await conn.fetch(
        "SELECT event_id, customer_id, anonymous_id, identified, type, channel, product_id, "
        "occurred_at, received_at, source, sentiment, nps, csat, revenue FROM touchpoints "
        "WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR occurred_at >= $2) "
        "AND ($3::timestamptz IS NULL OR occurred_at < $3) "
        "AND ($4::timestamptz IS NULL OR (occurred_at, event_id) < ($4, $5)) "
        "ORDER BY occurred_at DESC, event_id DESC LIMIT $6",
        customer_id,
        since,
        until,
        None if before is None else before[0],
        None if before is None else before[1],
        limit,
    )
    return [
        Touchpoint(
            event_id=r["event_id"],
            customer_id=r["customer_id"],
            anonymous_id=r["anonymous_id"],
            identified=r["identified"],
            type=r["type"],
            channel=r["channel"],
            product_id=r["product_id"],
            occurred_at=r["occurred_at"],
            received_at=r["received_at"],
            source=r["source"],
            sentiment=r["sentiment"],
            nps=r["nps"],
            csat=r["csat"],
            revenue=r["revenue"],
        )
        for r in rows
    ]
