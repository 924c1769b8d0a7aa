"""Recompute every map and figure from the stored touchpoints: `journeymap rebuild-maps`.

Needed after an upgrade that changes how maps are kept, or after changing the stage
model or the inactivity window. It is also the from-scratch answer the incremental
figures are tested against. Alerts are not re-run: the hotspots' alert counts come
from the stored alerts. Run it with the aggregators stopped; it is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.batch import save
from services.aggregator.dead_letters import TableDeadLetters
from services.aggregator.sql import rebuild as rebuild_sql
from services.aggregator.store import PostgresStore, StoreWiring
from shared.db.data_versions import HOTSPOTS_SCOPE, product_scope
from shared.db.engine import driver_connection
from shared.domain.batch import BatchPolicy, Snapshot, Work, expire_due, rebuild_customers
from shared.domain.experience_stats import (
    ALERT,
    HotspotFigures,
    HotspotKey,
    hotspot_key,
    touchpoint_figures,
)

# Customers rebuilt per step, to bound memory.
CUSTOMERS_PER_STEP = 500


@dataclass(frozen=True, slots=True)
class RebuildReport:
    customers: int
    journeys: int
    touchpoints: int


async def rebuild_maps(
    engine: AsyncEngine, policy: BatchPolicy, *, group_id: str, event_time_floor: datetime
) -> RebuildReport:
    """`event_time_floor` is the wall clock minus the allowed lateness: idle aggregators
    treat it as every partition's watermark, so journeys past it count as abandoned."""
    rules = policy.rules
    async with engine.begin() as sa_conn:
        conn = await driver_connection(sa_conn)
        # It writes no offsets, dead letters or alerts.
        wiring = StoreWiring(TableDeadLetters(), group_id, topic="", notifiers=(), base_url="")
        store = PostgresStore(conn, wiring)
        # Keep which partition owns each customer, for the re-armed journey timeouts.
        partition_of = await rebuild_sql.customer_partitions(conn)
        await rebuild_sql.clear_maps(conn)
        customers = await rebuild_sql.customers(conn)
        hotspots: dict[HotspotKey, HotspotFigures] = {}
        touchpoints = 0
        for start in range(0, len(customers), CUSTOMERS_PER_STEP):
            chunk = customers[start : start + CUSTOMERS_PER_STEP]
            histories = await store.customer_touchpoints(chunk)
            snapshot = Snapshot(customer_histories=histories)
            work = Work(rebuild=frozenset(chunk), home=partition_of)
            await save(store, rebuild_customers(snapshot, work, policy), event_time_floor, rules)
            for history in histories.values():
                touchpoints += len(history)
                for touchpoint in history:
                    key = hotspot_key(touchpoint)
                    hotspots[key] = hotspots.get(key, HotspotFigures()) + touchpoint_figures(
                        touchpoint, policy.negative_sentiment_max
                    )
        firsts = await rebuild_sql.alert_first_touchpoints(conn)
        places = await store.hotspot_keys(set(firsts))
        for first in firsts:
            if first in places:
                hotspots[places[first]] = hotspots.get(places[first], HotspotFigures()) + ALERT
        await store.add_hotspot_figures(hotspots)
        stored = await rebuild_sql.watermarks(conn, group_id)
        armed = await rebuild_sql.armed_partitions(conn)
        watermarks = {
            p: max(event_time_floor, stored.get(p, event_time_floor))
            for p in stored.keys() | set(armed)
        }
        while due := await store.due_timeouts(watermarks, policy.expired_per_batch):
            snapshot = Snapshot(
                due=due,
                due_journeys=await store.journey_instances(
                    (t.customer_id, t.product_id, t.instance) for t in due
                ),
            )
            await save(store, expire_due(snapshot, watermarks, policy), event_time_floor, rules)
        products = await rebuild_sql.journey_products(conn)
        await store.bump_versions([product_scope(p) for p in products] + [HOTSPOTS_SCOPE])
        journeys = await rebuild_sql.journey_count(conn)
    return RebuildReport(len(customers), journeys, touchpoints)
