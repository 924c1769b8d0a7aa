"""The aggregator's write floor: what storing the maps costs with nothing computed.

For every event the aggregator stores the touchpoint and rewrites its customer's
journey, experience and rule memory, in one transaction per batch with the offsets
(this is what makes a crash or redelivery count every event exactly once). This
replays exactly those writes with the aggregator's own statements, in batches of its
size in log order: each event's touchpoint inserted, and its customer's stored rows
written back (the final documents, read once beforehand). Nothing else is timed: no
log reading, decoding, reads of state, folding, rules, timers or figures; and two
transactions are in flight at once, one per core. The aggregator cannot beat this
on the same PostgreSQL and machine: it is the bound the storage design sets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from zlib import crc32

from services.aggregator import friction_store, store
from services.aggregator.store import InstanceKey, JourneyRow
from shared.config import Settings
from shared.db.engine import create_engine, driver_connection
from shared.domain.friction.engine import FrictionEngine
from shared.domain.journey_stats import funnel_facts
from shared.domain.touchpoint import Touchpoint

BATCH = 5000  # the aggregator's default batch (aggregator_batch_max)
# Transactions in flight: one per core, each lane its own customers (like two
# aggregators on two partitions), so the bound uses the whole machine.
LANES = 2


async def write_floor_rate(url: str, touchpoints: Sequence[Touchpoint]) -> float:
    """Events/s for the maps' writes alone, replayed over the stored maps of `touchpoints`
    (which the aggregator has consumed); the tables are emptied and refilled."""
    settings = Settings(database_url=url)
    catalogue = settings.stage_model.catalogue()
    engine = create_engine(url, pool_size=LANES)
    try:
        async with engine.begin() as sa_conn:
            conn = await driver_connection(sa_conn)
            journey_keys = {(t.customer_id, t.product_id) for t in touchpoints if t.product_id}
            customers = {t.customer_id for t in touchpoints}
            journeys = {
                key: JourneyRow(stored.state, None, funnel_facts(stored.state, catalogue))
                for key, stored in (await store.load_latest_journeys(conn, journey_keys)).items()
            }
            experiences, _ = await store.load_experiences(conn, customers)
            memory = FrictionEngine(settings.rules, catalogue)
            await friction_store.load_customers(conn, memory, customers)
            await conn.execute("TRUNCATE touchpoints, journeys, experiences, friction_state")
        versions: dict[InstanceKey, int] = {}
        experience_versions: dict[str, int] = {}

        async def write(batch: Sequence[Touchpoint]) -> None:
            batch_journeys = {
                (t.customer_id, t.product_id): journeys[(t.customer_id, t.product_id)]
                for t in batch
                if t.product_id
            }
            batch_customers = list(dict.fromkeys(t.customer_id for t in batch))
            async with engine.begin() as sa_conn:
                conn = await driver_connection(sa_conn)
                await store.insert_touchpoints(conn, batch)
                await store.save_journeys(conn, list(batch_journeys.values()), versions)
                await store.save_experiences(
                    conn, [experiences[c] for c in batch_customers], experience_versions
                )
                await friction_store.save(conn, _memory_of(memory, batch_customers))
            _count_versions(versions, experience_versions, batch_journeys.values(), batch_customers)

        async def lane(number: int) -> None:
            mine = [t for t in touchpoints if crc32(t.customer_id.encode()) % LANES == number]
            for i in range(0, len(mine), BATCH):
                await write(mine[i : i + BATCH])

        start = time.perf_counter()
        await asyncio.gather(*(lane(number) for number in range(LANES)))
        return len(touchpoints) / (time.perf_counter() - start)
    finally:
        await engine.dispose()


def _memory_of(memory: FrictionEngine, customers: Sequence[str]) -> FrictionEngine:
    """An engine holding only these customers' rule memory (no timers), for saving."""
    subset = FrictionEngine(memory.rules, memory.catalogue)
    subset.customers = {c: memory.customers[c] for c in customers if c in memory.customers}
    return subset


def _count_versions(
    versions: dict[InstanceKey, int],
    experience_versions: dict[str, int],
    journeys: Iterable[JourneyRow],
    customers: Sequence[str],
) -> None:
    for row in journeys:
        key = (row.state.customer_id, row.state.product_id, row.state.instance)
        versions[key] = versions.get(key, 0) + 1
    for customer in customers:
        experience_versions[customer] = experience_versions.get(customer, 0) + 1
