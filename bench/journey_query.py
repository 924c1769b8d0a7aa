"""The journey map of a customer with 5,000 touchpoints on one journey, first page.

The population goes in through the real store and `rebuild-maps`, so the journey row
and its steps are the ones the aggregator would keep: one customer with 5,000
touchpoints within one journey, among 1,000 customers with 20 each. The query API
runs in its own process; the client times one request at a time. The baseline is a
primary-key select of the journey row on the same database (issue 16: p99 < 20 ms).
"""

from __future__ import annotations

import asyncio
from functools import partial

import httpx

from bench import harness
from bench.population import as_touchpoint, events
from bench.report import Row
from services.aggregator.sql import maps as map_sql
from shared.db.engine import create_engine, driver_connection

TARGET_SECONDS = 0.020
LONG_CUSTOMER = "customer-0000000"
QUERIES = {
    "journey map, first page": f"/v1/customers/{LONG_CUSTOMER}/journeys/product-1",
    "experience map": f"/v1/customers/{LONG_CUSTOMER}/experience",
}


def run(scale: float) -> list[Row]:
    with harness.embedded_postgres() as url:
        return asyncio.run(_measure(url, scale))


async def _measure(url: str, scale: float) -> list[Row]:
    long_history = 5000  # the target's size, at any scale
    customers = max(100, int(1000 * scale))
    touchpoints = [as_touchpoint(b) for b in events(1, long_history, products=1)]
    touchpoints += [as_touchpoint(b) for b in events(customers, 20, products=1, seed=2)]
    engine = create_engine(url, pool_size=2)
    try:
        for start in range(0, len(touchpoints), 5000):
            async with engine.begin() as sa_conn:
                conn = await driver_connection(sa_conn)
                await map_sql.insert_touchpoints(conn, touchpoints[start : start + 5000])
        await harness.rebuild_with_defaults(engine)
        async with engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            await conn.execute("VACUUM ANALYZE")
            steps = await conn.fetchval(
                "SELECT count(*) FROM journey_steps WHERE customer_id = $1", LONG_CUSTOMER
            )
            if steps != long_history:
                raise RuntimeError(f"the long journey has {steps} steps, not {long_history}")
            baseline = harness.p99(
                await harness.latencies(
                    lambda: conn.fetchrow(
                        "SELECT * FROM journeys WHERE customer_id = $1 AND product_id = $2 "
                        "AND instance = 0",
                        LONG_CUSTOMER,
                        "product-1",
                    ),
                    2000,
                )
            )
    finally:
        await engine.dispose()
    rows = []
    async with harness.api_reader(url) as client:
        for name, path in QUERIES.items():
            value = harness.p99(await harness.latencies(partial(_fetch, client, path), 500))
            rows.append(
                Row(
                    f"{name} p99, customer with {long_history:,} touchpoints",
                    value * 1000,
                    "ms",
                    baseline * 1000,
                    "PK select",
                    "< 20 ms",
                    value < TARGET_SECONDS,
                )
            )
    return rows


async def _fetch(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")
