"""Recompute every map and figure from the stored touchpoints: `journeymap rebuild-maps`.

Needed after an upgrade that changes how maps are kept, or after changing the stage
model or the inactivity window. It is also the from-scratch answer the incremental
figures are tested against. Alerts are not re-run: the hotspots' alert counts come
from the stored alerts. Run it with the aggregators stopped; it is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator import stats_store, store, timeouts
from services.aggregator.maps_step import MapsStep
from shared.db.data_versions import HOTSPOTS_SCOPE, product_scope
from shared.db.engine import driver_connection
from shared.domain.experience_stats import (
    ALERT,
    HotspotFigures,
    HotspotKey,
    hotspot_key,
    touchpoint_figures,
)
from shared.domain.stages import StageCatalogue

# Customers rebuilt per step, to bound memory.
CUSTOMERS_PER_STEP = 500


@dataclass(frozen=True, slots=True)
class RebuildReport:
    customers: int
    journeys: int
    touchpoints: int


async def rebuild_maps(
    engine: AsyncEngine,
    catalogue: StageCatalogue,
    *,
    window: timedelta,
    negative_sentiment_max: float,
    group_id: str,
    event_time_floor: datetime,
) -> RebuildReport:
    """`event_time_floor` is the wall clock minus the allowed lateness: idle aggregators
    treat it as every partition's watermark, so journeys past it count as abandoned."""
    maps = MapsStep(catalogue, window)
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        # Keep which partition owns each customer, for the re-armed journey timeouts.
        partition_of: dict[str, int] = {
            r["customer_id"]: r["partition"]
            for r in await conn.fetch(
                "SELECT customer_id, partition FROM timers UNION "
                "SELECT customer_id, partition FROM journey_timeouts"
            )
        }
        await conn.execute(
            "TRUNCATE journeys, journey_steps, journey_timeouts, experiences, touch_stats, "
            "hotspot_stats"
        )
        customers = [r[0] for r in await conn.fetch("SELECT DISTINCT customer_id FROM touchpoints")]
        hotspots: dict[HotspotKey, HotspotFigures] = {}
        touchpoints = 0
        for start in range(0, len(customers), CUSTOMERS_PER_STEP):
            chunk = customers[start : start + CUSTOMERS_PER_STEP]
            await maps.on_batch(
                conn, [], rebuild=set(chunk), retired=set(), partition_of=partition_of
            )
            for history in (await store.customer_touchpoints(conn, chunk)).values():
                touchpoints += len(history)
                for touchpoint in history:
                    key = hotspot_key(touchpoint)
                    hotspots[key] = hotspots.get(key, HotspotFigures()) + touchpoint_figures(
                        touchpoint, negative_sentiment_max
                    )
        for key in await _alert_keys(conn):
            hotspots[key] = hotspots.get(key, HotspotFigures()) + ALERT
        await stats_store.add_hotspot_figures(conn, hotspots)
        stored = {
            r["partition"]: r["watermark"]
            for r in await conn.fetch(
                "SELECT partition, watermark FROM consumer_offsets "
                "WHERE group_id = $1 AND watermark IS NOT NULL",
                group_id,
            )
        }
        armed = [r[0] for r in await conn.fetch("SELECT DISTINCT partition FROM journey_timeouts")]
        watermarks = {
            p: max(event_time_floor, stored.get(p, event_time_floor))
            for p in stored.keys() | set(armed)
        }
        while await timeouts.any_due(conn, watermarks):
            await maps.expire(conn, watermarks)
        products = [r[0] for r in await conn.fetch("SELECT DISTINCT product_id FROM journeys")]
        await stats_store.bump_versions(
            conn, [product_scope(p) for p in products] + [HOTSPOTS_SCOPE]
        )
        journeys = await conn.fetchval("SELECT count(*) FROM journeys")
    return RebuildReport(len(customers), journeys, touchpoints)


async def _alert_keys(conn: asyncpg.Connection) -> list[HotspotKey]:
    """Where each stored alert counts: the touchpoint that opened it."""
    firsts = [
        r[0]
        for r in await conn.fetch(
            "SELECT touchpoints->>0 FROM alerts WHERE jsonb_array_length(touchpoints) > 0"
        )
    ]
    keys = await store.hotspot_keys(conn, set(firsts))
    return [keys[first] for first in firsts if first in keys]
