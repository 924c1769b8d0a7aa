"""What the benchmarks start and how they time things."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.bootstrap import batch_policy
from services.aggregator.rebuild import rebuild_maps
from shared.config import Settings
from shared.db.local_server import start_local_postgres, stop_local_postgres
from shared.db.migrate import migrate
from shared.gc_tuning import tune_for_batches

READ_KEY = "bench-read-key"
WRITE_KEY = "bench-write-key"


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """A fresh embedded PostgreSQL (as `journeymap up` starts), migrated; its URL."""
    with tempfile.TemporaryDirectory(prefix="jm-bench-") as data_dir:
        url = start_local_postgres(Path(data_dir))
        try:
            migrate(url)
            yield url
        finally:
            # Stopped before the next benchmark starts, so that its autovacuum does
            # not run beside the next one's measurements.
            stop_local_postgres(Path(data_dir))


@contextlib.contextmanager
def collected_like_the_services() -> Iterator[None]:
    """The cycle collector tuned as journeymap's services tune theirs, for the timed
    work done in this process: otherwise its big heap (a million events) is rescanned
    over and over, and a baseline or floor measured here would be slowed by that."""
    thresholds = gc.get_threshold()
    tune_for_batches()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def rebuild_with_defaults(engine: AsyncEngine) -> None:
    """`journeymap rebuild-maps` with the default settings, its clock five minutes on."""
    settings = Settings()
    await rebuild_maps(
        engine,
        batch_policy(settings),
        group_id=settings.consumer_group,
        event_time_floor=datetime.now(UTC) - timedelta(minutes=5),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def service_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYMAP_")}
    env |= {
        "JOURNEYMAP_DATABASE_URL": database_url,
        "JOURNEYMAP_READ_KEY": READ_KEY,
        "JOURNEYMAP_WRITE_KEY": WRITE_KEY,
    }
    env |= {f"JOURNEYMAP_{name.upper()}": value for name, value in settings.items()}
    return env


@contextlib.asynccontextmanager
async def api_reader(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """`journeymap api` on the database in its own process, and a client with the read
    key."""
    async with (
        journeymap("api", service_env(database_url)) as base_url,
        httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {READ_KEY}"}
        ) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def journeymap(command: str, env: dict[str, str]) -> AsyncIterator[str]:
    """`journeymap <command>` in its own process, ready; its base URL."""
    port = free_port()
    journeymap = str(Path(sys.executable).parent / "journeymap")
    async with served(
        [journeymap, "--log-level", "WARNING", command, "--port", str(port)], port, env
    ) as url:
        yield url


@contextlib.asynccontextmanager
async def served(
    argv: list[str], port: int, env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """A server process, once it answers on `port`; its base URL."""
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as client:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code in (200, 404):
                        break
                if process.returncode is not None:
                    raise RuntimeError(f"{argv} exited with {process.returncode}")
                await asyncio.sleep(0.1)
        yield base_url
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def latencies(
    call: Callable[[], Awaitable[object]], count: int, warmup: int = 10
) -> list[float]:
    """Seconds per call, one at a time."""
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def p50(samples: list[float]) -> float:
    return statistics.median(samples)
