"""SQL for touchpoints and map states, batched: one round trip per table per batch.

Every function takes the batch transaction's connection, so all of a batch's writes
commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
import orjson

from shared.db.state_json import (
    experience_from_json,
    experience_to_json,
    journey_from_json,
    journey_to_json,
)
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState
from shared.domain.touchpoint import Touchpoint

JourneyKey = tuple[str, str]

_TOUCHPOINT_COLUMNS = (
    "event_id, customer_id, anonymous_id, type, channel, product_id, occurred_at, "
    "received_at, source, sentiment, nps, csat, revenue"
)


async def insert_touchpoints(
    conn: asyncpg.Connection, touchpoints: Sequence[Touchpoint]
) -> set[str]:
    """Insert the touchpoints not stored yet; return the ids that were new."""
    if not touchpoints:
        return set()
    rows = await conn.fetch(
        f"INSERT INTO touchpoints ({_TOUCHPOINT_COLUMNS}, properties) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
        "$6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::float8[], "
        "$11::int2[], $12::int2[], $13::numeric[], $14::jsonb[]) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        [t.event_id for t in touchpoints],
        [t.customer_id for t in touchpoints],
        [t.anonymous_id for t in touchpoints],
        [t.type for t in touchpoints],
        [t.channel for t in touchpoints],
        [t.product_id for t in touchpoints],
        [t.occurred_at for t in touchpoints],
        [t.received_at for t in touchpoints],
        [t.source for t in touchpoints],
        [t.sentiment for t in touchpoints],
        [t.nps for t in touchpoints],
        [t.csat for t in touchpoints],
        [t.revenue for t in touchpoints],
        [orjson.dumps(t.properties).decode() for t in touchpoints],
    )
    return {row["event_id"] for row in rows}


def _touchpoint(row: asyncpg.Record) -> Touchpoint:
    return Touchpoint(
        event_id=row["event_id"],
        customer_id=row["customer_id"],
        anonymous_id=row["anonymous_id"],
        type=row["type"],
        channel=row["channel"],
        product_id=row["product_id"],
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        source=row["source"],
        sentiment=row["sentiment"],
        nps=row["nps"],
        csat=row["csat"],
        revenue=row["revenue"],
    )


async def journey_touchpoints(
    conn: asyncpg.Connection, keys: Iterable[JourneyKey]
) -> dict[JourneyKey, list[Touchpoint]]:
    """Every stored touchpoint of the given journeys, for rebuilding them."""
    customers, products = _split(keys)
    if not customers:
        return {}
    rows = await conn.fetch(
        f"SELECT {_TOUCHPOINT_COLUMNS} FROM touchpoints "
        "WHERE (customer_id, product_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        customers,
        products,
    )
    found: dict[JourneyKey, list[Touchpoint]] = {}
    for row in rows:
        found.setdefault((row["customer_id"], row["product_id"]), []).append(_touchpoint(row))
    return found


async def load_journeys(
    conn: asyncpg.Connection, keys: Iterable[JourneyKey]
) -> dict[JourneyKey, JourneyState]:
    customers, products = _split(keys)
    if not customers:
        return {}
    rows = await conn.fetch(
        "SELECT customer_id, product_id, state FROM journeys "
        "WHERE (customer_id, product_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        customers,
        products,
    )
    return {
        (row["customer_id"], row["product_id"]): journey_from_json(row["state"]) for row in rows
    }


async def load_experiences(
    conn: asyncpg.Connection, customers: Iterable[str]
) -> dict[str, ExperienceState]:
    ids = list(customers)
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT customer_id, state FROM experiences WHERE customer_id = ANY($1::text[])", ids
    )
    return {row["customer_id"]: experience_from_json(row["state"]) for row in rows}


async def save_journeys(conn: asyncpg.Connection, states: Sequence[JourneyState]) -> None:
    if not states:
        return
    await conn.execute(
        "INSERT INTO journeys (customer_id, product_id, stage, started_at, converted_at, "
        "last_event_at, state, version) "
        "SELECT c, p, s, st, cv, le, doc, 1 FROM unnest($1::text[], $2::text[], $3::text[], "
        "$4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::jsonb[]) "
        "AS t(c, p, s, st, cv, le, doc) "
        "ON CONFLICT (customer_id, product_id) DO UPDATE SET stage = EXCLUDED.stage, "
        "started_at = EXCLUDED.started_at, converted_at = EXCLUDED.converted_at, "
        "last_event_at = EXCLUDED.last_event_at, state = EXCLUDED.state, "
        "version = journeys.version + 1, updated_at = now()",
        [s.customer_id for s in states],
        [s.product_id for s in states],
        [s.stage for s in states],
        [s.started_at for s in states],
        [s.converted_at for s in states],
        [s.last_event_at for s in states],
        [_json(journey_to_json(s)) for s in states],
    )


async def save_experiences(conn: asyncpg.Connection, states: Sequence[ExperienceState]) -> None:
    if not states:
        return
    await conn.execute(
        "INSERT INTO experiences (customer_id, touchpoint_count, first_seen, last_seen, "
        "state, version) "
        "SELECT c, n, fs, ls, doc, 1 FROM unnest($1::text[], $2::int[], $3::timestamptz[], "
        "$4::timestamptz[], $5::jsonb[]) AS t(c, n, fs, ls, doc) "
        "ON CONFLICT (customer_id) DO UPDATE SET touchpoint_count = EXCLUDED.touchpoint_count, "
        "first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, "
        "state = EXCLUDED.state, version = experiences.version + 1, updated_at = now()",
        [s.customer_id for s in states],
        [s.touchpoint_count for s in states],
        [s.first_seen for s in states],
        [s.last_seen for s in states],
        [_json(experience_to_json(s)) for s in states],
    )


def _json(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def _split(keys: Iterable[JourneyKey]) -> tuple[list[str], list[str]]:
    customers: list[str] = []
    products: list[str] = []
    for customer, product in keys:
        customers.append(customer)
        products.append(product)
    return customers, products
