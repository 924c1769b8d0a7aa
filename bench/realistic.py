"""Realistic traffic: sessions of many customers whose histories are Zipf-distributed.

Each customer's history length is drawn from a Pareto law (exponent 1, capped at
5,000): the median is about 20 touchpoints and one customer in a hundred has more
than 1,000. The history comes in sessions of 5 to 30 events, seconds apart, spread
over 60 days; the log holds every customer's sessions interleaved in time order, as a
live site sends them. 1,000,000 events at full size. The baseline is the same rows
inserted raw into the touchpoints table (issue 16: >= 0.3), and memory must stay
under 500 MB, flat.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from datetime import timedelta
from typing import Any

from bench import harness
from bench.aggregator import aggregate, append_events, check_counted, raw_insert_rate
from bench.population import EPOCH, event_body
from bench.report import Row
from shared.db.engine import create_engine

LONGEST_HISTORY = 5000
SPAN = timedelta(days=60)


def run(scale: float) -> list[Row]:
    with harness.embedded_postgres() as url:
        return asyncio.run(_measure(url, max(20_000, int(1_000_000 * scale))))


def histories(total: int, rng: random.Random) -> list[int]:
    """History lengths, Pareto(1) from 10 (median 20), until they hold `total` events."""
    lengths: list[int] = []
    left = total
    while left > 0:
        length = min(LONGEST_HISTORY, int(10 / (1.0 - rng.random())), left)
        lengths.append(length)
        left -= length
    return lengths


def traffic(total: int, seed: int = 3) -> tuple[list[dict[str, Any]], list[int]]:
    """The events in time order, and each customer's history length."""
    rng = random.Random(seed)
    lengths = histories(total, rng)
    bodies: list[dict[str, Any]] = []
    for customer, length in enumerate(lengths):
        number = 0
        while number < length:
            session = min(rng.randint(5, 30), length - number)
            at = EPOCH + SPAN * rng.random()
            for _ in range(session):
                at += timedelta(seconds=rng.randint(2, 90))
                bodies.append(event_body(rng, customer, number, at))
                number += 1
    bodies.sort(key=lambda body: body["timestamp"])
    return bodies, lengths


async def _measure(url: str, total: int) -> list[Row]:
    bodies, lengths = traffic(total)
    engine = create_engine(url, pool_size=2)
    try:
        raw_rate = await raw_insert_rate(engine, bodies)
        await append_events(engine, bodies)
    finally:
        await engine.dispose()
    del bodies
    rate, peak_mb, early_mb = await aggregate(url, total)
    await check_counted(url, total, len(lengths))
    shape = (
        f"{len(lengths):,} customers, median history {statistics.median(lengths):.0f}, "
        f"longest {max(lengths):,}"
    )
    return [
        Row(f"realistic traffic ({total:,} events; {shape})", rate, "ev/s", raw_rate,
            "raw insert", ">= 0.3 x baseline", rate >= 0.3 * raw_rate),
        Row("aggregator peak memory (realistic traffic)", peak_mb, "MB", None, "",
            "< 500 MB, flat", peak_mb < 500 and peak_mb <= 1.25 * early_mb),
    ]  # fmt: skip
