"""Run `journeymap` commands as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

# The installed console script, next to this interpreter.
JOURNEYMAP = [str(Path(sys.executable).parent / "journeymap")]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any JOURNEYMAP_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYMAP_")}
    env.update(extra)
    return env


@dataclass
class Service:
    process: asyncio.subprocess.Process
    base_url: str
    data_dir: Path
    log_path: Path
    banner: list[str] = field(default_factory=list)

    def key(self, role: str) -> str:
        """A key `journeymap up` generated, from its key file."""
        key: str = json.loads((self.data_dir / "keys.json").read_text())[role]
        return key


async def start_up(
    data_dir: Path, port: int, *, env: dict[str, str] | None = None, ready_within: float = 90
) -> Service:
    """Start `journeymap up` and wait until /readyz answers 200."""
    log_path = data_dir.parent / f"up-{port}.log"
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *JOURNEYMAP,
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            env=env or clean_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    service = Service(process, f"http://127.0.0.1:{port}", data_dir, log_path)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_within
    async with httpx.AsyncClient(base_url=service.base_url, timeout=2) as client:
        while True:
            if process.returncode is not None:
                raise AssertionError(
                    f"journeymap up exited with {process.returncode}:\n{log_path.read_text()}"
                )
            if process.stdout is not None and not service.banner:
                with contextlib.suppress(TimeoutError):
                    line = await asyncio.wait_for(process.stdout.readline(), 0.2)
                    if line.startswith(b"journeymap is starting"):
                        service.banner = await _read_banner(process.stdout)
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200 and service.banner:
                    return service
            if loop.time() > deadline:
                process.kill()
                raise AssertionError("journeymap up did not become ready")
            await asyncio.sleep(0.1)


async def _read_banner(stdout: asyncio.StreamReader) -> list[str]:
    lines: list[str] = []
    while True:
        line = (await stdout.readline()).decode()
        if not line or line.startswith("Press Ctrl-C"):
            return lines
        lines.append(line.rstrip())


async def stop(service: Service, sig: int = signal.SIGINT, within: float = 30) -> int:
    service.process.send_signal(sig)
    return await asyncio.wait_for(service.process.wait(), within)


@contextlib.asynccontextmanager
async def reaped(service: Service) -> AsyncIterator[Service]:
    try:
        yield service
    finally:
        if service.process.returncode is None:
            service.process.kill()
            await service.process.wait()


def local_postgres(data_dir: Path) -> list[psutil.Process]:
    """The PostgreSQL server processes running on `data_dir`'s database."""
    pgdata = str((data_dir / "postgres").resolve())
    return [
        proc
        for proc in psutil.process_iter(["name", "cmdline"])
        if proc.info["name"] == "postgres" and pgdata in (proc.info["cmdline"] or [])
    ]


@contextlib.contextmanager
def local_postgres_stopped_after(data_dir: Path) -> Iterator[None]:
    """Stop a PostgreSQL left running under `data_dir` (after a SIGKILL of its owner)."""
    try:
        yield
    finally:
        for proc in local_postgres(data_dir):
            proc.send_signal(signal.SIGINT)  # fast shutdown
            with contextlib.suppress(psutil.Error):
                proc.wait(10)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JOURNEYMAP, *args], env=env or clean_env(), capture_output=True, text=True, timeout=120
    )
