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

from services.aggregator.errors import ConcurrentMapUpdate
from shared.db.state_json import (
    experience_from_json,
    experience_to_json,
    journey_from_json,
    journey_to_json,
)
from shared.db.touchpoint_rows import TOUCHPOINT_COLUMNS, touchpoint_from_row
from shared.domain.experience import ExperienceState
from shared.domain.experience_stats import HotspotKey
from shared.domain.journey import JourneyStep
from shared.domain.journey_stats import utc_day
from shared.domain.stored import InstanceKey, JourneyKey, JourneyRow, StoredJourney
from shared.domain.touchpoint import Touchpoint


async def insert_touchpoints(
    conn: asyncpg.Connection, touchpoints: Sequence[Touchpoint]
) -> set[str]:
    """Insert the touchpoints not stored yet; return the ids that were new."""
    if not touchpoints:
        return set()
    rows = await conn.fetch(
        f"INSERT INTO touchpoints ({TOUCHPOINT_COLUMNS}, properties) "
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


async def journey_touchpoints(
    conn: asyncpg.Connection, keys: Iterable[JourneyKey]
) -> dict[JourneyKey, list[Touchpoint]]:
    """Every stored touchpoint of the given journeys, for rebuilding them."""
    customers, products = _split(keys)
    if not customers:
        return {}
    rows = await conn.fetch(
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints "
        "WHERE (customer_id, product_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        customers,
        products,
    )
    found: dict[JourneyKey, list[Touchpoint]] = {}
    for row in rows:
        found.setdefault((row["customer_id"], row["product_id"]), []).append(
            touchpoint_from_row(row)
        )
    return found


async def customer_touchpoints(
    conn: asyncpg.Connection, customers: Iterable[str]
) -> dict[str, list[Touchpoint]]:
    """Every stored touchpoint of the given customers, for rebuilding all their maps."""
    ids = list(customers)
    if not ids:
        return {}
    rows = await conn.fetch(
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints WHERE customer_id = ANY($1::text[])",
        ids,
    )
    found: dict[str, list[Touchpoint]] = {}
    for row in rows:
        found.setdefault(row["customer_id"], []).append(touchpoint_from_row(row))
    return found


_JOURNEY_COLUMNS = "customer_id, product_id, instance, state, version, abandoned_at"


def _stored(row: asyncpg.Record) -> StoredJourney:
    return StoredJourney(journey_from_json(row["state"]), row["version"], row["abandoned_at"])


async def load_latest_journeys(
    conn: asyncpg.Connection, keys: Iterable[JourneyKey]
) -> dict[JourneyKey, StoredJourney]:
    """The latest instance of each journey."""
    customers, products = _split(keys)
    if not customers:
        return {}
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (customer_id, product_id) {_JOURNEY_COLUMNS} FROM journeys "
        "WHERE (customer_id, product_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) "
        "ORDER BY customer_id, product_id, instance DESC",
        customers,
        products,
    )
    return {(r["customer_id"], r["product_id"]): _stored(r) for r in rows}


async def load_all_journeys(
    conn: asyncpg.Connection,
    *,
    keys: Iterable[JourneyKey] = (),
    customers: Iterable[str] = (),
) -> dict[InstanceKey, StoredJourney]:
    """Every instance of the given journeys, and of every journey of the given customers."""
    key_customers, key_products = _split(keys)
    rows = await conn.fetch(
        f"SELECT {_JOURNEY_COLUMNS} FROM journeys "
        "WHERE (customer_id, product_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) "
        "OR customer_id = ANY($3::text[])",
        key_customers,
        key_products,
        list(customers),
    )
    return {(r["customer_id"], r["product_id"], r["instance"]): _stored(r) for r in rows}


async def load_journey_instances(
    conn: asyncpg.Connection, keys: Iterable[InstanceKey]
) -> dict[InstanceKey, StoredJourney]:
    wanted = list(keys)
    if not wanted:
        return {}
    rows = await conn.fetch(
        f"SELECT {_JOURNEY_COLUMNS} FROM journeys "
        "WHERE (customer_id, product_id, instance) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[], $3::int[]))",
        [k[0] for k in wanted],
        [k[1] for k in wanted],
        [k[2] for k in wanted],
    )
    return {(r["customer_id"], r["product_id"], r["instance"]): _stored(r) for r in rows}


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


async def save_journeys(
    conn: asyncpg.Connection, rows: Sequence[JourneyRow], read_at: Mapping[InstanceKey, int]
) -> None:
    if not rows:
        return
    states = [r.state for r in rows]
    saved = await conn.fetch(
        "INSERT INTO journeys (customer_id, product_id, instance, stage, stage_rank, "
        "stage_seconds, started_at, converted_at, last_event_at, abandoned_at, "
        "first_channel, last_type, last_channel, state, version) "
        # unnest flattens nested arrays, so stage_seconds travels as array literals.
        "SELECT c, p, i, s, r, ss::float8[], sa, ca, la, aa, fc, lt, lc, st, v "
        "FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int2[], "
        "$6::text[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], "
        "$10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::jsonb[], $15::bigint[]) "
        "AS u(c, p, i, s, r, ss, sa, ca, la, aa, fc, lt, lc, st, v) "
        "ON CONFLICT (customer_id, product_id, instance) DO UPDATE SET "
        "stage = EXCLUDED.stage, stage_rank = EXCLUDED.stage_rank, "
        "stage_seconds = EXCLUDED.stage_seconds, "
        "started_at = EXCLUDED.started_at, converted_at = EXCLUDED.converted_at, "
        "last_event_at = EXCLUDED.last_event_at, abandoned_at = EXCLUDED.abandoned_at, "
        "first_channel = EXCLUDED.first_channel, last_type = EXCLUDED.last_type, "
        "last_channel = EXCLUDED.last_channel, state = EXCLUDED.state, "
        "version = EXCLUDED.version, updated_at = now() "
        "WHERE journeys.version = EXCLUDED.version - 1 RETURNING xmax = 0 AS inserted, version",
        [s.customer_id for s in states],
        [s.product_id for s in states],
        [s.instance for s in states],
        [s.stage for s in states],
        [r.facts.stage_rank for r in rows],
        [_array_literal(r.facts.stage_seconds) for r in rows],
        [s.started_at for s in states],
        [s.converted_at for s in states],
        [s.last_event_at for s in states],
        [r.abandoned_at for r in rows],
        [r.facts.first_channel for r in rows],
        [r.facts.last_type for r in rows],
        [r.facts.last_channel for r in rows],
        [_json(journey_to_json(s)) for s in states],
        [read_at.get((s.customer_id, s.product_id, s.instance), 0) + 1 for s in states],
    )  # fmt: skip
    _all_saved(saved, len(rows), "journeys")


async def delete_journeys(conn: asyncpg.Connection, keys: Iterable[InstanceKey]) -> None:
    wanted = list(keys)
    if wanted:
        await conn.execute(
            "DELETE FROM journeys WHERE (customer_id, product_id, instance) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[], $3::int[]))",
            [k[0] for k in wanted],
            [k[1] for k in wanted],
            [k[2] for k in wanted],
        )


async def append_steps(
    conn: asyncpg.Connection, steps: Mapping[InstanceKey, Sequence[JourneyStep]]
) -> None:
    """Store the steps placed on journeys, where the API pages through them."""
    rows = [(key, step) for key, placed in steps.items() for step in placed]
    if not rows:
        return
    await conn.execute(
        "INSERT INTO journey_steps (customer_id, product_id, instance, position, event_id, "
        "type, channel, occurred_at, stage, revisit, sentiment) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], "
        "$6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::bool[], $11::float8[])",
        [key[0] for key, _ in rows],
        [key[1] for key, _ in rows],
        [key[2] for key, _ in rows],
        [step.position for _, step in rows],
        [step.event_id for _, step in rows],
        [step.type for _, step in rows],
        [step.channel for _, step in rows],
        [step.occurred_at for _, step in rows],
        [step.stage for _, step in rows],
        [step.revisit for _, step in rows],
        [step.sentiment for _, step in rows],
    )


async def delete_steps(
    conn: asyncpg.Connection, *, keys: Iterable[JourneyKey], customers: Iterable[str]
) -> None:
    """Forget the steps of journeys about to be rebuilt, and of every journey of the
    given customers."""
    key_customers, key_products = _split(keys)
    ids = list(customers)
    if key_customers:
        await conn.execute(
            "DELETE FROM journey_steps WHERE (customer_id, product_id) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[]))",
            key_customers,
            key_products,
        )
    if ids:
        await conn.execute("DELETE FROM journey_steps WHERE customer_id = ANY($1::text[])", ids)


def _array_literal(values: Sequence[float | None]) -> str:
    """A PostgreSQL array literal; repr keeps every float's exact value."""
    return "{" + ",".join("NULL" if v is None else repr(float(v)) for v in values) + "}"


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
        "WHERE experiences.version = EXCLUDED.version - 1 "
        "RETURNING xmax = 0 AS inserted, version",
        [s.customer_id for s in states],
        [s.touchpoint_count for s in states],
        [s.first_seen for s in states],
        [s.last_seen for s in states],
        [_json(experience_to_json(s)) for s in states],
        [read_at.get(s.customer_id, 0) + 1 for s in states],
    )
    _all_saved(rows, len(states), "experiences")


def _all_saved(saved: Sequence[asyncpg.Record], wanted: int, table: str) -> None:
    """Every row saved from the version read; a row read at a version that had to be
    inserted again was deleted since (a rebuild by another writer)."""
    if len(saved) != wanted:
        raise ConcurrentMapUpdate(
            f"{wanted - len(saved)} of {wanted} {table} changed since this batch read them"
        )
    if any(row["inserted"] and row["version"] > 1 for row in saved):
        raise ConcurrentMapUpdate(f"{table} read by this batch were deleted since")


async def drop_maps(conn: asyncpg.Connection, customers: Iterable[str]) -> None:
    """Forget the experience and rule memory of identities merged into a customer (their
    journeys are rebuilt under the customer by the maps step)."""
    ids = list(customers)
    if ids:
        for table in ("experiences", "friction_state"):
            await conn.execute(f"DELETE FROM {table} WHERE customer_id = ANY($1::text[])", ids)


async def hotspot_keys(conn: asyncpg.Connection, event_ids: Iterable[str]) -> dict[str, HotspotKey]:
    """Where stored touchpoints count in the hotspots."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT event_id, occurred_at, product_id, type, channel FROM touchpoints "
        "WHERE event_id = ANY($1::text[])",
        ids,
    )
    return {
        r["event_id"]: (utc_day(r["occurred_at"]), r["product_id"] or "", r["type"], r["channel"])
        for r in rows
    }


def _json(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def _split(keys: Iterable[JourneyKey]) -> tuple[list[str], list[str]]:
    customers: list[str] = []
    products: list[str] = []
    for customer, product in keys:
        customers.append(customer)
        products.append(product)
    return customers, products
