"""SQL for the friction rules' state: customer memory, timers and rule firings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import asyncpg
import orjson

from shared.db.state_json import friction_from_json, friction_to_json
from shared.db.touchpoint_rows import TOUCHPOINT_COLUMNS, touchpoint_from_row
from shared.domain.friction.evidence import EvidenceKey, EvidenceRange
from shared.domain.friction.state import CustomerFriction
from shared.domain.friction.systemic import FIRING_MEMORY, Firing
from shared.domain.friction.timers import Timer, TimerAction, TimerBook
from shared.domain.touchpoint import Touchpoint

_TIMER_COLUMNS = (
    "key, partition, due_at, rule, action, customer_id, product_id, touchpoints, detail"
)


def _timer(row: asyncpg.Record) -> Timer:
    return Timer(
        rule=row["rule"],
        action=TimerAction(row["action"]),
        customer_id=row["customer_id"],
        product_id=row["product_id"],
        partition=row["partition"],
        due_at=row["due_at"],
        touchpoints=tuple(row["touchpoints"]),
        detail=row["detail"],
    )


async def timers(
    conn: asyncpg.Connection,
    *,
    partitions: Sequence[int],
    due_by: datetime | None,
    customers: Iterable[str] = (),
) -> list[Timer]:
    """Timers of these partitions that are due by `due_by` or belong to `customers`."""
    # Two indexed lookups: an OR of them would scan the whole table. The customers are
    # joined, not matched with `= ANY`: on a table not yet analysed PostgreSQL chose a
    # scan that compared every timer with every customer of the batch, seconds a batch.
    rows = await conn.fetch(
        f"SELECT {_TIMER_COLUMNS} FROM timers WHERE key IN ("
        "SELECT key FROM timers WHERE partition = ANY($1::int[]) AND due_at <= $2 UNION "
        "SELECT t.key FROM timers t JOIN unnest($3::text[]) AS c(id) ON t.customer_id = c.id "
        "WHERE t.partition = ANY($1::int[]))",
        list(partitions),
        due_by,
        list(customers),
    )
    return [_timer(row) for row in rows]


async def next_due(conn: asyncpg.Connection, partitions: Sequence[int]) -> datetime | None:
    due: datetime | None = await conn.fetchval(
        "SELECT min(due_at) FROM timers WHERE partition = ANY($1::int[])", list(partitions)
    )
    return due


async def evidence(
    conn: asyncpg.Connection, needs: Mapping[EvidenceKey, EvidenceRange]
) -> list[Touchpoint]:
    """The stored events the rules count or that clear them: per customer and type, in
    the range of event time the rules need."""
    if not needs:
        return []
    rows = await conn.fetch(
        f"SELECT {TOUCHPOINT_COLUMNS} FROM touchpoints JOIN unnest($1::text[], $2::text[], "
        "$3::timestamptz[], $4::timestamptz[]) AS r(who, kind, low, high) "
        "ON customer_id = r.who AND type = r.kind AND occurred_at >= r.low "
        "AND (r.high IS NULL OR occurred_at <= r.high)",
        [customer for customer, _ in needs],
        [event_type for _, event_type in needs],
        [r.low for r in needs.values()],
        [r.high for r in needs.values()],
    )
    return [touchpoint_from_row(row) for row in rows]


async def memory(conn: asyncpg.Connection, customers: Iterable[str]) -> dict[str, CustomerFriction]:
    """The rules' memory of these customers."""
    ids = list(customers)
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT state FROM friction_state WHERE customer_id = ANY($1::text[])", ids
    )
    states = [friction_from_json(row["state"]) for row in rows]
    return {state.customer_id: state for state in states}


async def save(
    conn: asyncpg.Connection, memory: Mapping[str, CustomerFriction], book: TimerBook
) -> None:
    """Customer memory, then timers: armed ones upserted, removed ones deleted."""
    if memory:
        await conn.execute(
            "INSERT INTO friction_state (customer_id, state) "
            "SELECT * FROM unnest($1::text[], $2::jsonb[]) "
            "ON CONFLICT (customer_id) DO UPDATE SET state = EXCLUDED.state",
            list(memory),
            [orjson.dumps(friction_to_json(s)).decode() for s in memory.values()],
        )
    gone = sorted(book.removed - book.armed)
    if gone:
        await conn.execute("DELETE FROM timers WHERE key = ANY($1::text[])", gone)
    armed = [book.pending[key] for key in sorted(book.armed) if key in book.pending]
    if armed:
        await conn.execute(
            f"INSERT INTO timers ({_TIMER_COLUMNS}) SELECT * FROM unnest($1::text[], "
            "$2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], "
            "$8::jsonb[], $9::text[]) ON CONFLICT (key) DO UPDATE SET "
            "partition = EXCLUDED.partition, due_at = EXCLUDED.due_at, "
            "touchpoints = EXCLUDED.touchpoints, detail = EXCLUDED.detail",
            [t.key for t in armed],
            [t.partition for t in armed],
            [t.due_at for t in armed],
            [t.rule for t in armed],
            [t.action.value for t in armed],
            [t.customer_id for t in armed],
            [t.product_id for t in armed],
            [orjson.dumps(list(t.touchpoints)).decode() for t in armed],
            [t.detail for t in armed],
        )


async def firings(
    conn: asyncpg.Connection, ranges: Mapping[tuple[str, str], tuple[datetime, datetime]]
) -> list[Firing]:
    """The remembered firings of each (rule, product) within its range of time."""
    if not ranges:
        return []
    keys = sorted(ranges)
    rows = await conn.fetch(
        "SELECT f.rule, f.product_id, f.customer_id, f.at FROM rule_firings f "
        "JOIN unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) "
        "AS r(rule, product_id, low, high) ON f.rule = r.rule "
        "AND f.product_id = r.product_id AND f.at BETWEEN r.low AND r.high",
        [rule for rule, _ in keys],
        [product for _, product in keys],
        [ranges[key][0] for key in keys],
        [ranges[key][1] for key in keys],
    )
    return [Firing(r["rule"], r["product_id"], r["customer_id"], r["at"]) for r in rows]


async def record_firings(
    conn: asyncpg.Connection, firings: Sequence[Firing], window: timedelta
) -> None:
    """Remember new firings; forget those too old to count with the newest any more."""
    if not firings:
        return
    await conn.execute(
        "INSERT INTO rule_firings (rule, product_id, customer_id, at) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])",
        [f.rule for f in firings],
        [f.product_id for f in firings],
        [f.customer_id for f in firings],
        [f.at for f in firings],
    )
    newest: dict[tuple[str, str], datetime] = {}
    for f in firings:
        key = (f.rule, f.product_id)
        newest[key] = max(f.at, newest.get(key, f.at))
    # One bound per rule and product: a bound per firing made the delete quadratic.
    await conn.execute(
        "DELETE FROM rule_firings f USING (SELECT * FROM unnest($1::text[], $2::text[], "
        "$3::timestamptz[])) AS w(rule, product_id, at) WHERE f.rule = w.rule "
        "AND f.product_id = w.product_id AND f.at < w.at - $4::interval",
        [rule for rule, _ in newest],
        [product for _, product in newest],
        list(newest.values()),
        max(2 * window, FIRING_MEMORY),
    )
