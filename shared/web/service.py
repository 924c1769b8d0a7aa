"""Compose service components into one FastAPI app with lifespan and ops routes.

A component is what one service contributes: routes, readiness checks, and what to
start and stop. The standalone processes mount one component each (plus the
database); the embedded `journeymap up` mounts all of them in one app.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel

from shared.metrics import Metrics
from shared.web.docs import serve_docs_locally
from shared.web.nul_guard import RefuseNul
from shared.web.openapi import document_models
from shared.web.ops import ReadinessCheck, ops_router
from shared.web.problems import answer_with_problems

Step = Callable[[], Awaitable[None]]


@dataclass
class Component:
    routers: list[APIRouter] = field(default_factory=list)
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    start: list[Step] = field(default_factory=list)
    stop: list[Step] = field(default_factory=list)
    documented_bodies: tuple[type[BaseModel], ...] = ()


# FastAPI's built-in OpenTelemetry, switched off.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def service_app(title: str, components: Sequence[Component], metrics: Metrics) -> FastAPI:
    """Components start in order and stop in reverse order."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for component in components:
                for step in component.stop[::-1]:
                    stack.push_async_callback(step)
                for step in component.start:
                    await step()
            yield

    app = FastAPI(
        title=title,
        description="Live customer journey maps, experience maps and friction alerts.",
        version="0.1.0",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics). FastAPI's own OpenTelemetry hooks would
        # look up the providers on every request for nothing.
        telemetry=NO_TELEMETRY,
        # /docs and /redoc load their scripts from this package, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    serve_docs_locally(app)
    checks: dict[str, ReadinessCheck] = {}
    for component in components:
        for router in component.routers:
            app.include_router(router)
        checks.update(component.checks)
    app.include_router(ops_router(metrics.registry, checks))
    answer_with_problems(app)
    app.add_middleware(RefuseNul)
    document_models(app, [model for c in components for model in c.documented_bodies])
    return app
