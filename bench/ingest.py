"""Ingest throughput: `journeymap up` against the bare server stack and raw inserts.

`wrk` (Debian) is the load generator, in its own process, posting unique ~400-byte
events with the realistic stage mix (bench/wrk/events.lua). A run where any request
is not accepted, or where the log does not hold every acknowledged event, is void.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from bench import harness
from bench.population import events
from bench.report import Row

SCRIPT = Path(__file__).parent / "wrk" / "events.lua"
CONNECTIONS = 64


def run(scale: float) -> list[Row]:
    seconds = max(3, round(15 * scale))
    with harness.embedded_postgres() as url:
        return asyncio.run(_measure(url, seconds, scale))


async def _measure(url: str, seconds: int, scale: float) -> list[Row]:
    port = harness.free_port()
    # The same stack `journeymap up` serves with: uvicorn, uvloop, httptools.
    bare = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning"]  # fmt: skip
    async with harness.served(bare, port) as bare_url:
        bare_rps, _ = await wrk(bare_url, 1, seconds)
    raw_rate = await _raw_insert_rate(url, max(10_000, int(200_000 * scale)))
    env = harness.service_env(url, rate_limit_per_second="1e9", rate_limit_burst="1000000000")
    async with harness.journeymap("up", env) as base_url:
        single_rps, batch_rps = await _logged_runs("journeymap up", url, base_url, seconds)
    # The same door without the aggregator in its process: what ingest itself costs.
    async with harness.journeymap("ingest", env) as base_url:
        alone_single, _ = await wrk(base_url, 1, seconds)
        alone_batch, _ = await wrk(base_url, 100, seconds)
    # The same stack answering only once the events are in the log: the floor.
    # Last, because the aggregator of `journeymap up` would take these raw bodies as poison.
    port = harness.free_port()
    durable = [*bare[:3], "bench.durable_app:app", "--port", str(port), *bare[6:]]
    async with harness.served(durable, port, harness.service_env(url)) as durable_url:
        durable_single, durable_batch = await _logged_runs("the floor", url, durable_url, seconds)
    return [
        Row("single-event ingest (64 connections)", single_rps, "req/s", bare_rps,
            "bare FastAPI", ">= 0.6 x baseline", single_rps >= 0.6 * bare_rps),
        Row("batch ingest (100 events/request)", batch_rps * 100, "ev/s", raw_rate,
            "asyncpg executemany", ">= 0.5 x baseline", batch_rps * 100 >= 0.5 * raw_rate),
        Row("  the same, single events, `journeymap ingest` alone", alone_single, "req/s",
            bare_rps, "bare FastAPI", "(information)", True),
        Row("  the same, batches, `journeymap ingest` alone", alone_batch * 100, "ev/s",
            raw_rate, "asyncpg executemany", "(information)", True),
        Row("  bare FastAPI + durable append (the floor), single events", durable_single,
            "req/s", bare_rps, "bare FastAPI", "(information)", True),
        Row("  bare FastAPI + durable append (the floor), batches", durable_batch * 100,
            "ev/s", raw_rate, "asyncpg executemany", "(information)", True),
    ]  # fmt: skip


async def _logged_runs(name: str, url: str, base_url: str, seconds: int) -> tuple[float, float]:
    """Requests/s of single events, then of batches; void unless the log holds them all."""
    before = await _logged(url)
    single_rps, single_done = await wrk(base_url, 1, seconds)
    middle = await _logged(url)
    batch_rps, batch_done = await wrk(base_url, 100, seconds)
    after = await _logged(url)
    check_logged(f"{name}, single", middle - before, single_done)
    check_logged(f"{name}, batch", (after - middle) // 100, batch_done)
    return single_rps, batch_rps


def check_logged(name: str, logged: int, completed: int) -> None:
    # Requests in flight when wrk stops are not counted by wrk, but may be logged.
    if not completed <= logged <= completed + CONNECTIONS:
        raise RuntimeError(f"{name}: wrk completed {completed} requests but {logged} were logged")


async def wrk(
    url: str, per_request: int, seconds: int, timeout_seconds: int = 2
) -> tuple[float, int]:
    """Requests per second and requests completed; every answer must be 2xx."""
    env = os.environ | {"EVENTS_PER_REQUEST": str(per_request), "WRITE_KEY": harness.WRITE_KEY}
    argv = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        f"--timeout={timeout_seconds}s",
        "-s",
        str(SCRIPT),
        f"{url}/v1/events",
    ]
    result = await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, text=True, check=True
    )
    out = result.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failures against {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, done


async def _logged(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM event_log"))
    finally:
        await conn.close()


async def _raw_insert_rate(url: str, count: int) -> float:
    """Rows/s of asyncpg executemany of the same rows into an unindexed table."""
    columns = ("event_id", "customer_id", "type", "channel", "product_id", "timestamp")
    rows = [(*(e[c] for c in columns), str(e["properties"])) for e in events(count // 20 or 1, 20)]
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_events (event_id text, customer_id text, "
            "type text, channel text, product_id text, occurred_at text, properties text)"
        )
        with harness.collected_like_the_services():
            start = time.perf_counter()
            for i in range(0, len(rows), 100):
                await conn.executemany(
                    "INSERT INTO raw_events VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    rows[i : i + 100],
                )
            return len(rows) / (time.perf_counter() - start)
    finally:
        await conn.execute("DROP TABLE raw_events")
        await conn.close()
