"""HTTP receivers for alert notifications, served on real sockets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

from tests.support.server import serve


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers `failures` errors first, then `success_status`."""

    url: str = ""
    failures: int = 0
    failure_status: int = 500
    success_status: int = 200
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)


@contextlib.asynccontextmanager
async def receiver(
    failures: int = 0, failure_status: int = 500, success_status: int = 200
) -> AsyncIterator[Receiver]:
    state = Receiver(
        failures=failures, failure_status=failure_status, success_status=success_status
    )
    app = FastAPI()

    @app.post("/{path:path}")
    async def take(path: str, request: Request) -> Response:
        received = Received("/" + path, dict(request.headers), await request.body())
        state.requests.append(received)
        if len(state.requests) <= state.failures:
            return Response(status_code=state.failure_status, content=b"not now")
        state.accepted.append(received)
        return Response(status_code=state.success_status, content=b'{"status": "success"}')

    async with serve(app) as base_url:
        state.url = base_url
        yield state
