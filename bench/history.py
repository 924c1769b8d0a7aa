"""History growth: what an event costs the aggregator once its customer has a long past.

Two fresh databases. In each, every customer first gets a history (4 touchpoints in
the baseline, 1,000 in the measured run), aggregated untimed; then the same number of
new events per customer is appended and `journeymap aggregator` is timed consuming
them. The events come one round of every customer at a time and a batch holds one
round, so each batch touches each customer once, as live traffic of many customers
does. Loyal customers must not make the maps slower (issue 16: ratio >= 0.8).

A second row measures what PostgreSQL alone makes of the bigger database: after the
aggregator, the same new events are stored again under new ids, with nothing
computed, as the rows every event adds whatever the design (its touchpoint and its
journey step), in the aggregator's batches and with its statements. Its ratio is the
part of the first row's that the tables' size costs: bigger indexes to insert into.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from bench import harness
from bench.aggregator import aggregate, append_events
from bench.population import as_touchpoint, events
from bench.report import Row
from services.aggregator.sql import maps as map_sql
from shared.db.engine import create_engine, driver_connection
from shared.domain.journey import JourneyStep
from shared.domain.stored import InstanceKey

SHORT_HISTORY = 4
LONG_HISTORY = 1000
NEW_PER_CUSTOMER = 50


def run(scale: float) -> list[Row]:
    customers = max(20, int(1000 * scale))
    rates = {}
    for history in (SHORT_HISTORY, LONG_HISTORY):
        with harness.embedded_postgres() as url:
            rates[history] = asyncio.run(_new_events_rate(url, customers, history))
    (short, short_floor), (long, long_floor) = rates[SHORT_HISTORY], rates[LONG_HISTORY]
    return [
        Row(f"history growth: {customers * NEW_PER_CUSTOMER:,} events of customers with "
            f"{LONG_HISTORY:,} prior touchpoints", long, "ev/s", short,
            f"same, {SHORT_HISTORY} prior", ">= 0.8 x baseline", long >= 0.8 * short),
        Row("  floor: their touchpoint and step rows alone, same databases", long_floor,
            "ev/s", short_floor, f"same, {SHORT_HISTORY} prior", "(information)", True),
    ]  # fmt: skip


async def _new_events_rate(url: str, customers: int, history: int) -> tuple[float, float]:
    """Events/s of `journeymap aggregator` for the new events, once the history is in;
    and of storing their rows again with nothing computed."""
    bodies = list(events(customers, history + NEW_PER_CUSTOMER))
    # The generator is in time order, one round of every customer at a time.
    past, new = bodies[: customers * history], bodies[customers * history :]
    engine = create_engine(url, pool_size=2)
    try:
        await append_events(engine, past)
        await aggregate(url, len(past))
        await append_events(engine, new)
    finally:
        await engine.dispose()
    rate, _, _ = await aggregate(url, len(new), aggregator_batch_max=str(customers))
    return rate, await _rows_alone_rate(url, new, customers)


async def _rows_alone_rate(url: str, bodies: list[dict[str, Any]], batch: int) -> float:
    """The events' touchpoint and journey step rows, stored again under new ids."""
    touchpoints = [replace(as_touchpoint(b), event_id=f"{b['event_id']}-again") for b in bodies]
    positions: dict[tuple[str, str], int] = {}
    engine = create_engine(url, pool_size=2)
    try:
        with harness.collected_like_the_services():
            start = time.perf_counter()
            for i in range(0, len(touchpoints), batch):
                chunk = touchpoints[i : i + batch]
                steps: dict[InstanceKey, list[JourneyStep]] = {}
                for t in chunk:
                    if t.product_id is None:
                        continue
                    # Past any position the aggregator used: the steps are new rows.
                    key = (t.customer_id, t.product_id)
                    positions[key] = positions.get(key, 1_000_000) + 1
                    steps.setdefault((*key, 0), []).append(
                        JourneyStep(positions[key], t.event_id, t.type, t.channel,
                                    t.occurred_at, None, False, t.sentiment)
                    )  # fmt: skip
                async with engine.begin() as sa_conn:
                    conn = await driver_connection(sa_conn)
                    await map_sql.insert_touchpoints(conn, chunk)
                    await map_sql.append_steps(conn, steps)
            return len(touchpoints) / (time.perf_counter() - start)
    finally:
        await engine.dispose()
