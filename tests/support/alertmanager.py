"""A real Prometheus Alertmanager (Debian package prometheus-alertmanager) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.support.server import free_port

CONFIG = """\
route:
  receiver: "nowhere"
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: "nowhere"
"""


def alertmanager_binary() -> str:
    for name in ("prometheus-alertmanager", "alertmanager"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        "Alertmanager is not installed: `apt-get install prometheus-alertmanager` "
        "(scripts/test does this)"
    )


@contextlib.asynccontextmanager
async def alertmanager(workdir: Path) -> AsyncIterator[str]:
    """Start Alertmanager; yield its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    with (workdir / "alertmanager.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            alertmanager_binary(),
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as client:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/-/ready")).status_code == 200:
                        break
                if process.returncode is not None:
                    raise AssertionError((workdir / "alertmanager.log").read_text())
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("Alertmanager did not become ready")
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
