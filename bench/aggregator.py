"""Aggregator throughput and memory: log to maps for 1,000,000 events of 100,000 customers.

The events are appended to the embedded log first; then `journeymap aggregator` runs
in its own process until it has consumed them, its memory sampled as it goes. The
baseline is the same rows inserted raw into the touchpoints table. A run whose maps
do not hold every event exactly once is void.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import timedelta

import asyncpg
import psutil
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import harness
from bench.population import EPOCH, as_touchpoint, event_body, events
from bench.report import Row
from bench.storage_floor import storage_floor
from services.aggregator.sql import maps as map_sql
from shared.db.engine import create_engine, driver_connection
from shared.log.interface import LogEntry
from shared.log.postgres import PostgresLogWriter
from shared.schemas.log_event import LogEvent

PER_CUSTOMER = 10


def run(scale: float) -> list[Row]:
    with harness.embedded_postgres() as url:
        return asyncio.run(_measure(url, max(100, int(100_000 * scale))))


async def _measure(url: str, customers: int) -> list[Row]:
    bodies = list(events(customers, PER_CUSTOMER)) + _heavy_customer()
    engine = create_engine(url, pool_size=2)
    try:
        raw_rate = await raw_insert_rate(engine, bodies)
        await append_events(engine, bodies)
    finally:
        await engine.dispose()
    total = len(bodies)
    del bodies
    rate, peak_mb, early_mb = await aggregate(url, total)
    await check_counted(url, total, customers + 1)
    query, baseline = await _journey_query_p99(url)
    # Last: it empties and refills the maps (the heavy customer is left out).
    floor = await storage_floor(url, [as_touchpoint(b) for b in events(customers, PER_CUSTOMER)])
    return [
        Row(f"aggregator throughput ({total:,} events, {customers:,} customers)", rate,
            "ev/s", raw_rate, "raw insert", ">= 0.3 x baseline and >= 20,000 ev/s",
            rate >= 0.3 * raw_rate and rate >= 20_000),
        Row("  the maps' storage alone (the floor), same events", floor.events_per_second,
            "ev/s", raw_rate, "raw insert", "(information)", True),
        Row("  its CPU in Python per event", floor.python_seconds_per_event * 1e6, "us",
            None, "", "(information)", True),
        Row("aggregator peak memory (same run)", peak_mb, "MB", None, "",
            "< 500 MB, flat", peak_mb < 500 and peak_mb <= 1.25 * early_mb),
        Row(f"journey map query p99 ({HEAVY_TOUCHPOINTS} touchpoints, {total:,} in all)",
            query * 1000, "ms", baseline * 1000, "PK select", "p99 < 20 ms", query < 0.02),
    ]  # fmt: skip


HEAVY = "customer-heavy"
HEAVY_TOUCHPOINTS = 500


def _heavy_customer() -> list[dict[str, object]]:
    """One customer with 500 touchpoints of one product, for the journey map query."""
    rng = random.Random(9)
    bodies = []
    for number in range(HEAVY_TOUCHPOINTS):
        body = event_body(rng, 0, number, EPOCH + timedelta(minutes=number), products=1)
        bodies.append(body | {"event_id": f"heavy-{number}", "customer_id": HEAVY})
    return bodies


async def _journey_query_p99(url: str) -> tuple[float, float]:
    """p99 of the journey map through `journeymap api`, and of a PK select (asyncpg)."""
    conn = await asyncpg.connect(url)
    try:
        baseline = harness.p99(
            await harness.latencies(
                lambda: conn.fetchrow(
                    "SELECT * FROM journeys WHERE customer_id = $1 AND product_id = $2 "
                    "AND instance = 0",
                    HEAVY,
                    "product-1",
                ),
                2000,
            )
        )
    finally:
        await conn.close()
    path = f"/v1/customers/{HEAVY}/journeys/product-1"
    async with harness.api_reader(url) as client:
        journey = (await client.get(path)).json()
        if journey["touchpoint_count"] != HEAVY_TOUCHPOINTS:
            raise RuntimeError(f"the journey map counts {journey['touchpoint_count']} of "
                               f"{HEAVY_TOUCHPOINTS} touchpoints")  # fmt: skip

        async def fetch() -> None:
            (await client.get(path)).raise_for_status()

        return harness.p99(await harness.latencies(fetch, 300)), baseline


async def raw_insert_rate(engine: AsyncEngine, bodies: list[dict[str, object]]) -> float:
    """The touchpoints table's own speed, with the aggregator's insert; then emptied."""
    touchpoints = [as_touchpoint(b) for b in bodies]
    with harness.collected_like_the_services():
        start = time.perf_counter()
        for i in range(0, len(touchpoints), 5000):
            async with engine.begin() as sa_conn:
                await map_sql.insert_touchpoints(
                    await driver_connection(sa_conn), touchpoints[i : i + 5000]
                )
        rate = len(touchpoints) / (time.perf_counter() - start)
    async with engine.begin() as sa_conn:
        await (await driver_connection(sa_conn)).execute("TRUNCATE touchpoints")
    return rate


async def append_events(engine: AsyncEngine, bodies: list[dict[str, object]]) -> None:
    writer = PostgresLogWriter(engine)
    await writer.start()
    try:
        for i in range(0, len(bodies), 5000):
            entries = []
            for body in bodies[i : i + 5000]:
                event = LogEvent.model_validate(
                    body | {"occurred_at": body["timestamp"], "received_at": body["timestamp"],
                            "source": "bench"}
                )  # fmt: skip
                entries.append(LogEntry(key=event.identity.encode(), value=event.to_bytes()))
            await writer.append(entries)
    finally:
        await writer.stop()


async def aggregate(url: str, total: int, **settings: str) -> tuple[float, float, float]:
    """Events/s, peak MB, and MB a quarter of the way (memory must not grow with it).

    `settings` are the aggregator's settings, by name (`aggregator_batch_max="100"`).
    """
    conn = await asyncpg.connect(url)
    peak = early = 0.0
    try:
        head = await conn.fetchval("SELECT position FROM event_log_head")
        async with harness.journeymap("aggregator", harness.service_env(url, **settings)) as _:
            # Timed from ready: the process start and migration check are not throughput.
            start = time.perf_counter()
            process = _serving_process()
            while True:
                with contextlib.suppress(psutil.Error):
                    peak = max(peak, process.memory_info().rss / 2**20)
                done = await conn.fetchval(
                    "SELECT coalesce(max(last_offset), 0) FROM consumer_offsets"
                )
                if not early and done >= head // 4:
                    early = peak
                if done >= head:
                    break
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - start
    finally:
        await conn.close()
    return total / elapsed, peak, early


def _serving_process() -> psutil.Process:
    """The `journeymap aggregator` child of this process."""
    children = [p for p in psutil.Process().children() if "aggregator" in " ".join(p.cmdline())]
    if len(children) != 1:
        raise RuntimeError(f"expected one aggregator process, found {children}")
    return children[0]


async def check_counted(url: str, total: int, customers: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM touchpoints")
        counted = await conn.fetchval(
            "SELECT sum((state->>'touchpoint_count')::int) FROM experiences"
        )
        mapped = await conn.fetchval("SELECT count(*) FROM experiences")
    finally:
        await conn.close()
    if (stored, counted, mapped) != (total, total, customers):
        raise RuntimeError(
            f"maps are wrong: {stored} stored, {counted} counted, {mapped} customers mapped; "
            f"expected {total}, {total}, {customers}"
        )
