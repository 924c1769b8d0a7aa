"""Event-to-map latency at 2,000 events/s offered to `journeymap up`.

The load generator runs in its own process, open loop. The latency is the service's
own histogram (server receipt to the maps' commit), over the measured window only.
A run that loses or refuses an event is void.
"""

from __future__ import annotations

import asyncio
import json
import sys

import asyncpg
import httpx

from bench import harness
from bench.report import Row

RATE = 2000
METRIC = "journeymap_event_to_map_latency_seconds"


def run(scale: float) -> list[Row]:
    with harness.embedded_postgres() as url:
        return asyncio.run(_measure(url, max(10.0, 30 * scale)))


async def _measure(url: str, seconds: float) -> list[Row]:
    env = harness.service_env(url, rate_limit_per_second="1e9", rate_limit_burst="1000000000")
    async with harness.journeymap("up", env) as base_url, httpx.AsyncClient() as client:
        await _offer(base_url, 5)  # warm up
        before = await _histogram(client, base_url)
        counts = await _offer(base_url, seconds)
        await _drained(url)
        after = await _histogram(client, base_url)
    if counts["failed_requests"] or counts["accepted"] != counts["sent"]:
        raise RuntimeError(f"events were refused or lost: {counts}")
    window = {bound: after[bound] - before.get(bound, 0) for bound in after}
    return [
        Row(f"event-to-map latency {name} at {RATE:,} ev/s", _quantile(window, q) * 1000, "ms",
            None, "", "p99 < 1000 ms" if name == "p99" else "(information)",
            name != "p99" or _quantile(window, q) < 1.0)
        for name, q in (("p50", 0.5), ("p99", 0.99))
    ]  # fmt: skip


async def _offer(base_url: str, seconds: float) -> dict[str, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.loadgen", base_url, harness.WRITE_KEY,
        "--rate", str(RATE), "--seconds", str(seconds), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    counts: dict[str, int] = json.loads(out)
    return counts


async def _drained(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for _ in range(600):
            head = await conn.fetchval("SELECT position FROM event_log_head")
            done = await conn.fetchval("SELECT coalesce(max(last_offset), 0) FROM consumer_offsets")
            if done >= head:
                return
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise RuntimeError("the aggregator did not catch up")


async def _histogram(client: httpx.AsyncClient, base_url: str) -> dict[float, float]:
    """Cumulative counts by upper bound, from the Prometheus text."""
    text = (await client.get(f"{base_url}/metrics")).text
    counts: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(f"{METRIC}_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            counts[float("inf") if bound == "+Inf" else float(bound)] = float(line.split()[-1])
    return counts


def _quantile(cumulative: dict[float, float], q: float) -> float:
    """Linear interpolation within the bucket, as Prometheus' histogram_quantile."""
    bounds = sorted(cumulative)
    total = cumulative[bounds[-1]]
    if not total:
        raise RuntimeError("no latencies were observed")
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / max(cumulative[bound] - lower_count, 1e-9)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, cumulative[bound]
    return lower_bound
