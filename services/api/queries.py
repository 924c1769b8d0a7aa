"""Reads of one customer's maps for the query API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.db.state_json import experience_from_json, journey_from_json
from shared.db.touchpoint_rows import TOUCHPOINT_COLUMNS, touchpoint_from_row
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState, JourneyStep
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


async def steps(
    conn: asyncpg.Connection, state: JourneyState, *, after: int, limit: int
) -> list[JourneyStep]:
    """One instance's steps in the journey's order, from position `after` on."""
    rows = await conn.fetch(
        "SELECT position, event_id, type, channel, occurred_at, stage, revisit, sentiment "
        "FROM journey_steps WHERE customer_id = $1 AND product_id = $2 AND instance = $3 "
        "AND position >= $4 ORDER BY position LIMIT $5",
        state.customer_id,
        state.product_id,
        state.instance,
        after,
        limit,
    )
    return [
        JourneyStep(
            position=r["position"],
            event_id=r["event_id"],
            type=r["type"],
            channel=r["channel"],
            occurred_at=r["occurred_at"],
            stage=r["stage"],
            revisit=r["revisit"],
            sentiment=r["sentiment"],
        )
        for r in rows
    ]


async def latest_with_sentiment(
    conn: asyncpg.Connection, customer_id: str, limit: int
) -> list[Touchpoint]:
    """The customer's latest touchpoints that carry a sentiment, oldest first."""
    rows = await conn.fetch(
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints "
        "WHERE customer_id = $1 AND sentiment IS NOT NULL "
        "ORDER BY occurred_at DESC, event_id DESC LIMIT $2",
        customer_id,
        limit,
    )
    return [touchpoint_from_row(r) for r in reversed(rows)]


async def latest_of_types(
    conn: asyncpg.Connection, customer_id: str, types: Iterable[str], limit: int
) -> list[Touchpoint]:
    """The customer's latest touchpoints of the given types, oldest first."""
    rows = await conn.fetch(
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints "
        "WHERE customer_id = $1 AND type = ANY($2::text[]) "
        "ORDER BY occurred_at DESC, event_id DESC LIMIT $3",
        customer_id,
        sorted(types),
        limit,
    )
    return [touchpoint_from_row(r) for r in reversed(rows)]


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
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints "
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
    return [touchpoint_from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    customer_id: str
    touchpoint_count: int
    last_seen: datetime | None


async def find_customers(
    conn: asyncpg.Connection,
    prefix: str,
    limit: int,
    *,
    touch_type: str | None = None,
    touch_channel: str | None = None,
) -> list[CustomerMatch]:
    """Customers whose id starts with `prefix` (every one for ""), latest seen first;
    with a type or channel, only those with such a touchpoint (a scan of touchpoints)."""
    if touch_type is None and touch_channel is None:
        rows = await conn.fetch(
            "SELECT customer_id, touchpoint_count, last_seen FROM experiences "
            "WHERE starts_with(customer_id, $1) "
            "ORDER BY last_seen DESC NULLS LAST, customer_id LIMIT $2",
            prefix,
            limit,
        )
    else:
        rows = await conn.fetch(
            "SELECT e.customer_id, e.touchpoint_count, e.last_seen FROM experiences e "
            "WHERE starts_with(e.customer_id, $1) AND e.customer_id IN ("
            " SELECT customer_id FROM touchpoints WHERE ($3::text IS NULL OR type = $3) "
            " AND ($4::text IS NULL OR channel = $4)) "
            "ORDER BY e.last_seen DESC NULLS LAST, e.customer_id LIMIT $2",
            prefix,
            limit,
            touch_type,
            touch_channel,
        )
    return [CustomerMatch(*r.values()) for r in rows]


async def latest_received(conn: asyncpg.Connection, limit: int) -> list[Touchpoint]:
    """The touchpoints the maps took in last, by the time ingest received them."""
    rows = await conn.fetch(
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints "
        "ORDER BY received_at DESC, event_id DESC LIMIT $1",
        limit,
    )
    return [touchpoint_from_row(r) for r in rows]


async def touchpoints_by_id(conn: asyncpg.Connection, event_ids: list[str]) -> list[Touchpoint]:
    rows = await conn.fetch(
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints WHERE event_id = ANY($1::text[]) "
        "ORDER BY occurred_at, event_id",
        event_ids,
    )
    return [touchpoint_from_row(r) for r in rows]
