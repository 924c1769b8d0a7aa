"""Dashboard queries at 100,000 customers and 2,000,000 touchpoints of one product.

The population goes in through the real store and `rebuild-maps`, so the journey
rows and counters are the ones the aggregator would keep. The query API runs in its
own process; the client here times one request at a time.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import harness
from bench.population import as_touchpoint, events
from bench.report import Row
from services.aggregator.sql import maps as map_sql
from shared.db.engine import create_engine, driver_connection
from shared.domain.touchpoint import Touchpoint

TARGET_SECONDS = 0.2
# The console's views ask in this order (app.js, then the view): who is signed in,
# which products there are, then the view's figures.
VIEW_TARGET_SECONDS = 1.0
VIEWS = {
    "console funnel view": ["/v1/session", "/v1/products", "/v1/products/product-1/funnel"],
    "console stage-flow view": ["/v1/session", "/v1/products", "/v1/products/product-1/flow"],
}
QUERIES = {
    "funnel": "/v1/products/product-1/funnel",
    "touchpoints": "/v1/touchpoints?product_id=product-1",
    "hotspots": "/v1/hotspots",
}


def run(scale: float) -> list[Row]:
    with harness.embedded_postgres() as url:
        return asyncio.run(_measure(url, scale))


async def _measure(url: str, scale: float) -> list[Row]:
    customers = max(100, int(100_000 * scale))
    per_customer = 20
    engine = create_engine(url, pool_size=2)
    try:
        # The baseline and the rebuild (as `journeymap rebuild-maps` runs it) alike.
        with harness.collected_like_the_services():
            inserted, insert_seconds = await _seed(engine, customers, per_customer)
            start = time.perf_counter()
            await harness.rebuild_with_defaults(engine)
            rebuild_seconds = time.perf_counter() - start
        async with engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            await conn.execute("VACUUM ANALYZE")
            baseline = harness.p99(
                await harness.latencies(
                    lambda: conn.fetchrow(
                        "SELECT * FROM journeys WHERE customer_id = $1 AND product_id = $2 "
                        "AND instance = 0",
                        "customer-0000042",
                        "product-1",
                    ),
                    2000,
                )
            )
    finally:
        await engine.dispose()
    rows = [
        Row(
            f"rebuild-maps, touchpoints/s ({inserted:,} touchpoints)",
            inserted / rebuild_seconds,
            "tp/s",
            inserted / insert_seconds,
            "raw insert",
            "(information)",
            True,
        )
    ]
    async with harness.api_reader(url) as client:
        for name, path in QUERIES.items():
            first = await client.get(path)
            first.raise_for_status()
            samples = await harness.latencies(partial(_fetch, client, path), 200)
            unchanged = await harness.latencies(
                partial(_fetch, client, path, first.headers["ETag"], 304), 500
            )
            for label, measured in (
                (name, samples),
                (f"{name} poll, unchanged (304)", unchanged),
            ):
                value = harness.p99(measured)
                rows.append(
                    Row(
                        f"{label} p99 ({customers:,} customers)",
                        value * 1000,
                        "ms",
                        baseline * 1000,
                        "PK select",
                        "< 200 ms",
                        value < TARGET_SECONDS,
                    )
                )
        for name, paths in VIEWS.items():
            value = harness.p99(await harness.latencies(partial(_view, client, paths), 30))
            rows.append(
                Row(
                    f"{name}, data ready p99 ({customers:,} customers)",
                    value * 1000,
                    "ms",
                    baseline * 1000,
                    "PK select",
                    "< 1 s" if name == "console funnel view" else "(information)",
                    value < VIEW_TARGET_SECONDS,
                )
            )
    return rows


async def _view(client: httpx.AsyncClient, paths: list[str]) -> None:
    """A view's data as a first visit fetches it: nothing cached, one after another."""
    for path in paths:
        await _fetch(client, path)


async def _fetch(
    client: httpx.AsyncClient, path: str, etag: str | None = None, status: int = 200
) -> None:
    headers = {"If-None-Match": etag} if etag else {}
    response = await client.get(path, headers=headers)
    if response.status_code != status:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")


async def _seed(engine: AsyncEngine, customers: int, per_customer: int) -> tuple[int, float]:
    """Store the population's touchpoints through the aggregator's insert; (count, seconds)."""
    chunk: list[Touchpoint] = []
    count = 0
    elapsed = 0.0

    async def flush() -> None:
        nonlocal elapsed, count
        start = time.perf_counter()
        async with engine.begin() as sa_conn:
            await map_sql.insert_touchpoints(await driver_connection(sa_conn), chunk)
        elapsed += time.perf_counter() - start
        count += len(chunk)
        chunk.clear()

    for body in events(customers, per_customer, products=1):
        chunk.append(as_touchpoint(body))
        if len(chunk) == 5000:
            await flush()
    if chunk:
        await flush()
    return count, elapsed
