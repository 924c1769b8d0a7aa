"""Distributed mode as real processes: the test broker, ingest, aggregators, api."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.embedded import ALERTS_KEY, READ_KEY, WRITE_KEY
from tests.support.process import JOURNEYMAP, clean_env
from tests.support.server import free_port

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class BrokerProcess:
    process: asyncio.subprocess.Process
    bootstrap: str

    async def command(self, line: str) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        answer = (await asyncio.wait_for(self.process.stdout.readline(), 10)).decode().strip()
        assert answer == "OK", f"broker answered {answer!r} to {line!r}"


@contextlib.asynccontextmanager
async def broker_process(partitions: int = 4) -> AsyncIterator[BrokerProcess]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.kafka_broker",
        "--partitions",
        str(partitions),
        cwd=REPOSITORY,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert line.startswith("LISTENING "), line
        yield BrokerProcess(process, line.split()[1])
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


@dataclass
class ServiceProcess:
    name: str
    process: asyncio.subprocess.Process
    base_url: str


@dataclass
class Cluster:
    """The services of one distributed deployment, started and reaped by the test."""

    env: dict[str, str]
    logs: Path
    services: list[ServiceProcess] = field(default_factory=list)

    async def start(self, command: str, *, ready_within: float = 60) -> ServiceProcess:
        port = free_port()
        log_path = self.logs / f"{command}-{port}.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *JOURNEYMAP,
                command,
                "--port",
                str(port),
                env=self.env,
                stdout=log,
                stderr=log,
            )
        service = ServiceProcess(command, process, f"http://127.0.0.1:{port}")
        self.services.append(service)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_within
        async with httpx.AsyncClient(base_url=service.base_url, timeout=2) as client:
            while True:
                if process.returncode is not None:
                    raise AssertionError(f"{command} exited:\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/readyz")).status_code == 200:
                        return service
                if loop.time() > deadline:
                    raise AssertionError(f"{command} not ready:\n{log_path.read_text()[-3000:]}")
                await asyncio.sleep(0.1)

    async def stop_all(self) -> None:
        for service in self.services:
            if service.process.returncode is None:
                service.process.terminate()
        for service in self.services:
            try:
                await asyncio.wait_for(service.process.wait(), 20)
            except TimeoutError:
                service.process.kill()
                await service.process.wait()


@contextlib.asynccontextmanager
async def cluster(database_url: str, bootstrap: str, logs: Path) -> AsyncIterator[Cluster]:
    env = clean_env(
        JOURNEYMAP_LOG="kafka",
        JOURNEYMAP_KAFKA_BOOTSTRAP=bootstrap,
        JOURNEYMAP_DATABASE_URL=database_url,
        JOURNEYMAP_KAFKA_PARTITIONS="4",
        JOURNEYMAP_WRITE_KEY=WRITE_KEY,
        JOURNEYMAP_READ_KEY=READ_KEY,
        JOURNEYMAP_ALERTS_KEY=ALERTS_KEY,
        JOURNEYMAP_KAFKA_SESSION_TIMEOUT_MS="3000",
        JOURNEYMAP_KAFKA_HEARTBEAT_INTERVAL_MS="300",
        JOURNEYMAP_AGGREGATOR_BATCH_MAX="300",
        JOURNEYMAP_KAFKA_MAX_PENDING="500",
    )
    running = Cluster(env, logs)
    try:
        yield running
    finally:
        await running.stop_all()
