"""The aggregator's storage floor: what keeping the maps in PostgreSQL costs, with
nothing computed.

For every event the aggregator stores the touchpoint and its journey step, reads its
customer's journey, experience and rule memory (100,000 customers' states are more
than memory may hold: it must stay flat as customers grow) and writes them back, in
one transaction per batch with the offsets (what makes a crash or redelivery count
every event exactly once). This replays exactly that storage with the aggregator's
own statements and codecs, in batches of its size in log order, writing back the
final documents (read once beforehand). Nothing else is timed: no log reading, event
decoding, folding, rules, timers or figures; and two transactions are in flight at
once, one per core.
The aggregator cannot beat this on the same PostgreSQL and machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from zlib import crc32

from bench.harness import collected_like_the_services
from services.aggregator.sql import friction as friction_sql
from services.aggregator.sql import maps as map_sql
from shared.config import Settings
from shared.db.engine import create_engine, driver_connection
from shared.domain.friction.timers import TimerBook
from shared.domain.journey import JourneyStep
from shared.domain.journey_stats import funnel_facts
from shared.domain.stored import InstanceKey, JourneyRow
from shared.domain.touchpoint import Touchpoint

# Transactions in flight: one per core, each lane its own customers (like two
# aggregators on two partitions), so the bound uses the whole machine.
LANES = 2


@dataclass(frozen=True)
class StorageFloor:
    events_per_second: float
    python_seconds_per_event: float  # this process's CPU: encoding, decoding, asyncpg


async def storage_floor(url: str, touchpoints: Sequence[Touchpoint]) -> StorageFloor:
    """The maps' storage alone, replayed over the stored maps of `touchpoints` (which
    the aggregator has consumed); the tables are emptied and refilled."""
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
                for key, stored in (await map_sql.load_latest_journeys(conn, journey_keys)).items()
            }
            experiences, _ = await map_sql.load_experiences(conn, customers)
            memory = await friction_sql.memory(conn, customers)
            await conn.execute(
                "TRUNCATE touchpoints, journeys, journey_steps, experiences, friction_state"
            )
        placed: dict[tuple[str, str], int] = {}

        def steps_of(batch: Sequence[Touchpoint]) -> dict[InstanceKey, list[JourneyStep]]:
            """One appended step per touchpoint with a product, as the maps place them."""
            steps: dict[InstanceKey, list[JourneyStep]] = {}
            for t in batch:
                if t.product_id is not None:
                    position = placed[(t.customer_id, t.product_id)] = (
                        placed.get((t.customer_id, t.product_id), -1) + 1
                    )
                    steps.setdefault((t.customer_id, t.product_id, 0), []).append(
                        JourneyStep(
                            position,
                            t.event_id,
                            t.type,
                            t.channel,
                            t.occurred_at,
                            None,
                            False,
                            t.sentiment,
                        )
                    )
            return steps

        async def store_batch(batch: Sequence[Touchpoint]) -> None:
            journey_keys = {(t.customer_id, t.product_id) for t in batch if t.product_id}
            customers = list(dict.fromkeys(t.customer_id for t in batch))
            async with engine.begin() as sa_conn:
                conn = await driver_connection(sa_conn)
                await map_sql.insert_touchpoints(conn, batch)
                # Read (and decode) what the batch's customers have stored, as the
                # aggregator must: their states outnumber what memory may hold.
                stored = await map_sql.load_latest_journeys(conn, journey_keys)
                _, experience_versions = await map_sql.load_experiences(conn, customers)
                await friction_sql.memory(conn, customers)
                read_at = {
                    (*key, journey.state.instance): journey.version
                    for key, journey in stored.items()
                }
                await map_sql.save_journeys(conn, [journeys[k] for k in journey_keys], read_at)
                await map_sql.append_steps(conn, steps_of(batch))
                await map_sql.save_experiences(
                    conn, [experiences[c] for c in customers], experience_versions
                )
                await friction_sql.save(
                    conn, {c: memory[c] for c in customers if c in memory}, TimerBook()
                )

        lanes: list[list[Touchpoint]] = [[] for _ in range(LANES)]
        for touchpoint in touchpoints:
            lanes[crc32(touchpoint.customer_id.encode()) % LANES].append(touchpoint)

        async def run_lane(mine: list[Touchpoint]) -> None:
            size = settings.aggregator_batch_max  # the aggregator's own batch
            for i in range(0, len(mine), size):
                await store_batch(mine[i : i + size])

        with collected_like_the_services():
            start, cpu_start = time.perf_counter(), time.process_time()
            await asyncio.gather(*(run_lane(lane) for lane in lanes))
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        return StorageFloor(len(touchpoints) / elapsed, cpu / len(touchpoints))
    finally:
        await engine.dispose()
