"""Reads of the figures across customers.

The funnel is an indexed aggregate over the product's journey rows. Touchpoint and
hotspot figures are sums over the per-day counters the aggregator maintains, so their
cost grows with days and touchpoint kinds, not with customers or touchpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from shared.db.data_versions import HOTSPOTS_SCOPE, PRODUCT_SCOPE_PREFIX, product_scope


@dataclass(frozen=True, slots=True)
class Cohort:
    """Journeys of a product started in [since, until), optionally by first channel."""

    product_id: str
    since: datetime | None
    until: datetime | None
    channel: str | None


_COHORT = (
    "product_id = $1 AND stage_rank IS NOT NULL "
    "AND started_at >= coalesce($2, '-infinity'::timestamptz) "
    "AND started_at < coalesce($3, 'infinity'::timestamptz) "
    "AND ($4::text IS NULL OR first_channel = $4)"
)


def _cohort_args(cohort: Cohort) -> tuple[object, ...]:
    return cohort.product_id, cohort.since, cohort.until, cohort.channel


@dataclass(frozen=True, slots=True)
class StageSums:
    reached: int
    dropped: int
    seconds: tuple[float | None, float | None]  # median and 90th percentile


@dataclass(frozen=True, slots=True)
class FunnelSums:
    journeys: int
    converted: int
    seconds_to_convert: tuple[float | None, float | None]
    stages: list[StageSums]
    # Per stage rank: (last type, last channel, journeys) of journeys abandoned there.
    drop_offs: dict[int, list[tuple[str, str, int]]]


def _pair(values: list[float] | None) -> tuple[float | None, float | None]:
    return (None, None) if values is None else (values[0], values[1])


async def funnel(conn: asyncpg.Connection, cohort: Cohort, stage_count: int) -> FunnelSums:
    # One pass over the cohort; the stage ranks are literal integers, not input.
    per_stage = ", ".join(
        f"count(*) FILTER (WHERE stage_rank >= {k}), "
        f"count(*) FILTER (WHERE stage_rank = {k} AND abandoned_at IS NOT NULL), "
        f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP "
        f"(ORDER BY stage_seconds[{k + 1}])"
        for k in range(stage_count)
    )
    row = await conn.fetchrow(
        "SELECT count(*), count(converted_at), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP "
        "(ORDER BY extract(epoch FROM converted_at - started_at)::float8), "
        f"{per_stage} FROM journeys WHERE {_COHORT}",
        *_cohort_args(cohort),
    )
    assert row is not None  # an aggregate always returns a row
    values = list(row.values())
    stages = [
        StageSums(values[3 + 3 * k], values[4 + 3 * k], _pair(values[5 + 3 * k]))
        for k in range(stage_count)
    ]
    drop_rows = await conn.fetch(
        "SELECT stage_rank, last_type, last_channel, count(*) AS journeys FROM journeys "
        f"WHERE {_COHORT} AND abandoned_at IS NOT NULL "
        "GROUP BY stage_rank, last_type, last_channel",
        *_cohort_args(cohort),
    )
    drop_offs: dict[int, list[tuple[str, str, int]]] = {}
    for r in drop_rows:
        drop_offs.setdefault(r["stage_rank"], []).append(
            (r["last_type"], r["last_channel"], r["journeys"])
        )
    return FunnelSums(values[0], values[1], _pair(values[2]), stages, drop_offs)


@dataclass(frozen=True, slots=True)
class TouchSums:
    type: str
    channel: str
    journeys: int
    touches: int
    converted_after: int
    bounced: int
    sentiment_micros: int
    sentiment_count: int
    alerts: int


async def touch_sums(
    conn: asyncpg.Connection, product_id: str | None, since: date, until: date
) -> list[TouchSums]:
    """Per type and channel, over journeys started on days in [since, until)."""
    rows = await conn.fetch(
        "WITH touch AS (SELECT type, channel, sum(journeys) AS journeys, "
        " sum(touches) AS touches, sum(converted_after) AS converted_after, "
        " sum(bounced) AS bounced, sum(sentiment_micros) AS sentiment_micros, "
        " sum(sentiment_count) AS sentiment_count FROM touch_stats "
        " WHERE ($1::text IS NULL OR product_id = $1) AND cohort_day >= $2 AND cohort_day < $3 "
        " GROUP BY type, channel), "
        "alerted AS (SELECT type, channel, sum(alerts) AS alerts FROM hotspot_stats "
        " WHERE coalesce(product_id = $1, product_id <> '') AND day >= $2 AND day < $3 "
        " AND alerts > 0 GROUP BY type, channel) "
        "SELECT touch.*, coalesce(alerted.alerts, 0) AS alerts "
        "FROM touch LEFT JOIN alerted USING (type, channel)",
        product_id,
        since,
        until,
    )
    return [
        TouchSums(r["type"], r["channel"], *(int(v) for v in list(r.values())[2:])) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ExperienceSums:
    # What the row is about: (type, channel), (channel,) or (product,).
    kind: str
    key: tuple[str, ...]
    touches: int
    alerts: int
    negative: int
    sentiment_micros: int
    sentiment_count: int
    promoters: int
    passives: int
    detractors: int
    csat_total: int
    csat_count: int


_GROUPINGS = {
    "touchpoint": ("type", "channel"),
    "channel": ("channel",),
    "product": ("product_id",),
}


async def experience_sums(
    conn: asyncpg.Connection, since: date, until: date
) -> list[ExperienceSums]:
    """Hotspot figures over days in [since, until), by touchpoint, channel and product."""
    rows = await conn.fetch(
        "SELECT grouping(type, channel, product_id) AS grouping, type, channel, product_id, "
        "sum(touches), sum(alerts), sum(negative), sum(sentiment_micros), "
        "sum(sentiment_count), sum(promoters), sum(passives), sum(detractors), "
        "sum(csat_total), sum(csat_count) FROM hotspot_stats WHERE day >= $1 AND day < $2 "
        "GROUP BY GROUPING SETS ((type, channel), (channel), (product_id))",
        since,
        until,
    )
    # grouping() sets a bit per argument left out of the set: type=4, channel=2, product=1.
    kinds = {0b001: "touchpoint", 0b101: "channel", 0b110: "product"}
    found = []
    for r in rows:
        kind = kinds[r["grouping"]]
        key = tuple(r[column] for column in _GROUPINGS[kind])
        if kind == "product" and key == ("",):
            continue  # touchpoints about no product
        found.append(ExperienceSums(kind, key, *(int(v) for v in list(r.values())[4:])))
    return found


async def product_version(conn: asyncpg.Connection, product_id: str | None) -> str:
    """The version of one product's journeys and figures, or of all products' (None)."""
    if product_id is not None:
        return str(
            await conn.fetchval(
                "SELECT version FROM data_versions WHERE scope = $1", product_scope(product_id)
            )
        )
    # Versions only grow, so their sum changes whenever any product changes.
    row = await conn.fetchrow(
        "SELECT coalesce(sum(version), 0), count(*) FROM data_versions "
        "WHERE starts_with(scope, $1)",
        PRODUCT_SCOPE_PREFIX,
    )
    assert row is not None
    return f"{row[0]}/{row[1]}"


async def hotspots_version(conn: asyncpg.Connection) -> str:
    return str(
        await conn.fetchval("SELECT version FROM data_versions WHERE scope = $1", HOTSPOTS_SCOPE)
    )


@dataclass(frozen=True, slots=True)
class OverviewSums:
    received_recently: int
    active_customers: int
    open_alerts: dict[str, int]  # severity -> open or acknowledged alerts
    # The embedded log only: events appended but not yet in the maps, and since when
    # the oldest of them waits (None when none waits).
    behind: int | None
    oldest_waiting: datetime | None


async def overview(
    conn: asyncpg.Connection,
    *,
    received_since: datetime,
    active_since: datetime,
    log_reader: tuple[str, str, int] | None,
) -> OverviewSums:
    """`log_reader` is (group, topic, partition) of the embedded log's aggregator."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM touchpoints WHERE received_at >= $1), "
        "(SELECT count(*) FROM experiences WHERE last_seen >= $2)",
        received_since,
        active_since,
    )
    assert row is not None
    severities = await conn.fetch(
        "SELECT severity, count(*) FROM alerts WHERE status <> 'resolved' GROUP BY severity"
    )
    behind, oldest = None, None
    if log_reader is not None:
        lag = await conn.fetchrow(
            "WITH done AS (SELECT coalesce(max(last_offset), -1) AS position "
            " FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3) "
            "SELECT greatest((SELECT position FROM event_log_head WHERE id = 1) "
            " - done.position, 0) AS behind, "
            "(SELECT appended_at FROM event_log WHERE position = done.position + 1) AS oldest "
            "FROM done",
            *log_reader,
        )
        assert lag is not None
        behind, oldest = int(lag["behind"] or 0), lag["oldest"]
    return OverviewSums(
        int(row[0]), int(row[1]), {r[0]: int(r[1]) for r in severities}, behind, oldest
    )


async def products(conn: asyncpg.Connection) -> list[tuple[str, int]]:
    """Every product with journeys, with its journey count, most journeys first."""
    rows = await conn.fetch(
        "SELECT product_id, count(*) FROM journeys WHERE stage_rank IS NOT NULL "
        "GROUP BY product_id ORDER BY count(*) DESC, product_id"
    )
    return [(r[0], int(r[1])) for r in rows]


@dataclass(frozen=True, slots=True)
class FlowSums:
    # (from stage or None at the start, to stage) -> journeys that moved so.
    moves: dict[tuple[str | None, str], int]
    # Per stage rank: journeys abandoned there, and journeys still in it.
    dropped: dict[int, int]
    open: dict[int, int]
    # Per stage: journeys with a touchpoint of an earlier stage while in it.
    revisited: dict[str, int]


async def flow(conn: asyncpg.Connection, cohort: Cohort) -> FlowSums:
    moves = await conn.fetch(
        # A transition is stored as [from stage, to stage, at, event id].
        "SELECT t->>0 AS source, t->>1 AS target, count(*) "
        f"FROM journeys, jsonb_array_elements(state->'transitions') AS t WHERE {_COHORT} "
        "GROUP BY 1, 2",
        *_cohort_args(cohort),
    )
    ends = await conn.fetch(
        "SELECT stage_rank, count(*) FILTER (WHERE abandoned_at IS NOT NULL), "
        "count(*) FILTER (WHERE abandoned_at IS NULL) "
        f"FROM journeys WHERE {_COHORT} GROUP BY stage_rank",
        *_cohort_args(cohort),
    )
    revisits = await conn.fetch(
        "SELECT went_back, count(*) FROM journeys, "
        "jsonb_object_keys(state->'stage_revisits') AS went_back "
        f"WHERE {_COHORT} GROUP BY went_back",
        *_cohort_args(cohort),
    )
    return FlowSums(
        moves={(r["source"], r["target"]): int(r["count"]) for r in moves},
        dropped={int(r[0]): int(r[1]) for r in ends if r[1]},
        open={int(r[0]): int(r[2]) for r in ends if r[2]},
        revisited={r[0]: int(r[1]) for r in revisits},
    )


@dataclass(frozen=True, slots=True)
class DroppedJourney:
    customer_id: str
    instance: int
    started_at: datetime
    abandoned_at: datetime
    last_type: str | None
    last_channel: str | None


async def dropped(
    conn: asyncpg.Connection,
    cohort: Cohort,
    stage_rank: int,
    after: tuple[datetime, str, int] | None,
    limit: int,
) -> list[DroppedJourney]:
    """Journeys of the cohort abandoned in the stage, latest abandoned first."""
    rows = await conn.fetch(
        "SELECT customer_id, instance, started_at, abandoned_at, last_type, last_channel "
        f"FROM journeys WHERE {_COHORT} AND stage_rank = $5 AND abandoned_at IS NOT NULL "
        "AND ($6::timestamptz IS NULL OR "
        " (abandoned_at, customer_id, instance) < ($6, $7::text, $8::int)) "
        "ORDER BY abandoned_at DESC, customer_id DESC, instance DESC LIMIT $9",
        *_cohort_args(cohort),
        stage_rank,
        *(after or (None, None, None)),
        limit,
    )
    return [DroppedJourney(*r.values()) for r in rows]
