"""Serve an ASGI app on a real loopback socket inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI

from shared.config import HttpLimits
from shared.web.server import server_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(app: FastAPI, limits: HttpLimits | None = None) -> AsyncIterator[str]:
    """Run `app` (lifespan included) on a free port, as journeymap serves it (within
    `limits`, by default the defaults); yield its base URL."""
    config = server_config(
        app,
        host="127.0.0.1",
        port=free_port(),
        limits=limits or HttpLimits(),
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task
