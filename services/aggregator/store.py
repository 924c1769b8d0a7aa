"""SQL for touchpoints and map states, batched: one round trip per table per batch.

Every function takes the batch transaction's connection, so all of a batch's writes
commit or roll back together. Map rows carry a version: a save only succeeds from
the version that was loaded, so two writers of one customer (possible when a linked
anonymous visitor's events arrive on another partition) cannot lose each other's
update; the loser retries its batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
from shared.errors import JourneymapError

JourneyKey = tuple[str, str]

_TOUCHPOINT_COLUMNS = (
    "event_id, customer_id, anonymous_id, identified, type, channel, product_id, "
    "occurred_at, received_at, source, sentiment, nps, csat, revenue"
)


class ConcurrentMapUpdate(JourneymapError):
    """Another transaction changed a map this batch read: retry the batch."""

    retriable = True


async def insert_touchpoints(
    conn: asyncpg.Connection, touchpoints: Sequence[Touchpoint]
) -> set[str]:
    """Insert the touchpoints not stored yet; return the ids that were new."""
    if not touchpoints:
        return set()
    rows = await conn.fetch(
        f"INSERT INTO touchpoints ({_TOUCHPOINT_COLUMNS}, properties) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[], "
        "$6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::text[], "
        "$11::float8[], $12::int2[], $13::int2[], $14::numeric[], $15::jsonb[]) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        [t.event_id for t in touchpoints],
        [t.customer_id for t in touchpoints],
        [t.anonymous_id for t in touchpoints],
        [t.identified for t in touchpoints],
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
        identified=row["identified"],
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


async def customer_touchpoints(
    conn: asyncpg.Connection, customers: Iterable[str]
) -> dict[str, list[Touchpoint]]:
    """Every stored touchpoint of the given customers, for rebuilding all their maps."""
    ids = list(customers)
    if not ids:
        return {}
    rows = await conn.fetch(
        f"SELECT {_TOUCHPOINT_COLUMNS} FROM touchpoints WHERE customer_id = ANY($1::text[])",
        ids,
    )
    found: dict[str, list[Touchpoint]] = {}
    for row in rows:
        found.setdefault(row["customer_id"], []).append(_touchpoint(row))
    return found


async def load_journeys(
    conn: asyncpg.Connection, keys: Iterable[JourneyKey]
) -> tuple[dict[JourneyKey, JourneyState], dict[JourneyKey, int]]:
    """The journeys and the versions they were read at."""
    customers, products = _split(keys)
    if not customers:
        return {}, {}
    rows = await conn.fetch(
        "SELECT customer_id, product_id, state, version FROM journeys "
        "WHERE (customer_id, product_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        customers,
        products,
    )
    states = {(r["customer_id"], r["product_id"]): journey_from_json(r["state"]) for r in rows}
    versions = {(r["customer_id"], r["product_id"]): r["version"] for r in rows}
    return states, versions


async def load_experiences(
    conn: asyncpg.Connection, customers: Iterable[str]
) -> tuple[dict[str, ExperienceState], dict[str, int]]:
    ids = list(customers)
    if not ids:
        return {}, {}
    rows = await conn.fetch(
        "SELECT customer_id, state, version FROM experiences WHERE customer_id = ANY($1::text[])",
        ids,
    )
    states = {r["customer_id"]: experience_from_json(r["state"]) for r in rows}
    return states, {r["customer_id"]: r["version"] for r in rows}


async def customer_journey_versions(
    conn: asyncpg.Connection, customers: Iterable[str]
) -> dict[JourneyKey, int]:
    rows = await conn.fetch(
        "SELECT customer_id, product_id, version FROM journeys WHERE customer_id = ANY($1::text[])",
        list(customers),
    )
    return {(r["customer_id"], r["product_id"]): r["version"] for r in rows}


async def save_journeys(
    conn: asyncpg.Connection, states: Sequence[JourneyState], read_at: Mapping[JourneyKey, int]
) -> None:
    if not states:
        return
    rows = await conn.fetch(
        "INSERT INTO journeys (customer_id, product_id, stage, started_at, converted_at, "
        "last_event_at, state, version) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], "
        "$5::timestamptz[], $6::timestamptz[], $7::jsonb[], $8::bigint[]) "
        "ON CONFLICT (customer_id, product_id) DO UPDATE SET stage = EXCLUDED.stage, "
        "started_at = EXCLUDED.started_at, converted_at = EXCLUDED.converted_at, "
        "last_event_at = EXCLUDED.last_event_at, state = EXCLUDED.state, "
        "version = EXCLUDED.version, updated_at = now() "
        "WHERE journeys.version = EXCLUDED.version - 1 RETURNING 1",
        [s.customer_id for s in states],
        [s.product_id for s in states],
        [s.stage for s in states],
        [s.started_at for s in states],
        [s.converted_at for s in states],
        [s.last_event_at for s in states],
        [_json(journey_to_json(s)) for s in states],
        [read_at.get((s.customer_id, s.product_id), 0) + 1 for s in states],
    )
    _all_saved(len(rows), len(states), "journeys")


async def save_experiences(
    conn: asyncpg.Connection, states: Sequence[ExperienceState], read_at: Mapping[str, int]
) -> None:
    if not states:
        return
    rows = await conn.fetch(
        "INSERT INTO experiences (customer_id, touchpoint_count, first_seen, last_seen, "
        "state, version) "
        "SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], "
        "$4::timestamptz[], $5::jsonb[], $6::bigint[]) "
        "ON CONFLICT (customer_id) DO UPDATE SET touchpoint_count = EXCLUDED.touchpoint_count, "
        "first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, "
        "state = EXCLUDED.state, version = EXCLUDED.version, updated_at = now() "
        "WHERE experiences.version = EXCLUDED.version - 1 RETURNING 1",
        [s.customer_id for s in states],
        [s.touchpoint_count for s in states],
        [s.first_seen for s in states],
        [s.last_seen for s in states],
        [_json(experience_to_json(s)) for s in states],
        [read_at.get(s.customer_id, 0) + 1 for s in states],
    )
    _all_saved(len(rows), len(states), "experiences")


def _all_saved(saved: int, wanted: int, table: str) -> None:
    if saved != wanted:
        raise ConcurrentMapUpdate(
            f"{wanted - saved} of {wanted} {table} changed since this batch read them"
        )


async def drop_maps(conn: asyncpg.Connection, customers: Iterable[str]) -> None:
    """Forget the maps of identities merged into a customer."""
    ids = list(customers)
    if ids:
        for table in ("journeys", "experiences", "friction_state"):
            await conn.execute(f"DELETE FROM {table} WHERE customer_id = ANY($1::text[])", ids)


def _json(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def _split(keys: Iterable[JourneyKey]) -> tuple[list[str], list[str]]:
    customers: list[str] = []
    products: list[str] = []
    for customer, product in keys:
        customers.append(customer)
        products.append(product)
    return customers, products
