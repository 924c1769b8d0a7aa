"""The embedded app served on a real socket, with known keys."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from services.embedded import create_embedded_app
from shared.clock import Clock
from shared.config import Settings
from tests.support.server import serve

WRITE_KEY = "test-write-key"
READ_KEY = "test-read-key"
ALERTS_KEY = "test-alerts-key"
SITE_ORIGIN = "https://shop.example"


@dataclass(frozen=True)
class Running:
    base_url: str
    writer: httpx.AsyncClient
    reader: httpx.AsyncClient
    responder: httpx.AsyncClient  # holds the alerts key


@contextlib.asynccontextmanager
async def running_embedded(
    database_url: str, *, clock: Clock | None = None, static_keys: bool = True, **settings: Any
) -> AsyncIterator[Running]:
    """The embedded app; with `static_keys`, the test keys are configured.

    The test write key may send from the browser origin `SITE_ORIGIN`.
    """
    keys: dict[str, Any] = {
        "write_key": WRITE_KEY,
        "read_key": READ_KEY,
        "alerts_key": ALERTS_KEY,
        "write_key_origins": [SITE_ORIGIN],
    }
    config = Settings(
        **{
            "database_url": database_url,
            "aggregator_idle_seconds": 0.01,
            **(keys if static_keys else {}),
            **settings,
        }
    )
    app = create_embedded_app(config, clock=clock)
    async with (
        serve(app) as base_url,
        httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {WRITE_KEY}"}, timeout=10
        ) as writer,
        httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {READ_KEY}"}, timeout=10
        ) as reader,
        httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {ALERTS_KEY}"}, timeout=10
        ) as responder,
    ):
        yield Running(base_url, writer, reader, responder)
