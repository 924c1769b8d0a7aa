"""History growth: what an event costs the aggregator once its customer has a long past.

Two fresh databases. In each, every customer first gets a history (4 touchpoints in
the baseline, 1,000 in the measured run), aggregated untimed; then the same number of
new events per customer is appended and `journeymap aggregator` is timed consuming
them. The events come one round of every customer at a time and a batch holds one
round, so each batch touches each customer once, as live traffic of many customers
does. Loyal customers must not make the maps slower (issue 16: ratio >= 0.8).
"""

from __future__ import annotations

import asyncio

from bench import harness
from bench.aggregator import aggregate, append_events
from bench.population import events
from bench.report import Row
from shared.db.engine import create_engine

SHORT_HISTORY = 4
LONG_HISTORY = 1000
NEW_PER_CUSTOMER = 50


def run(scale: float) -> list[Row]:
    customers = max(20, int(1000 * scale))
    rates = {}
    for history in (SHORT_HISTORY, LONG_HISTORY):
        with harness.embedded_postgres() as url:
            rates[history] = asyncio.run(_new_events_rate(url, customers, history))
    short, long = rates[SHORT_HISTORY], rates[LONG_HISTORY]
    return [
        Row(f"history growth: {customers * NEW_PER_CUSTOMER:,} events of customers with "
            f"{LONG_HISTORY:,} prior touchpoints", long, "ev/s", short,
            f"same, {SHORT_HISTORY} prior", ">= 0.8 x baseline", long >= 0.8 * short),
    ]  # fmt: skip


async def _new_events_rate(url: str, customers: int, history: int) -> float:
    """Events/s of `journeymap aggregator` for the new events, once the history is in."""
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
    return rate
