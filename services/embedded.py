"""The embedded default: ingest, aggregator and query API in one process.

One engine, one PostgreSQL event log, one metrics registry, one FastAPI app. This
is the composition root behind `journeymap up`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy import text

from services.aggregator.bootstrap import build_aggregator
from services.aggregator.dead_letters import TableDeadLetters
from services.aggregator.runner import AggregatorRunner, FatalHandler
from services.api.app import api_routers
from services.api.context import ApiContext
from services.ingest.app import ingest_documented_bodies, ingest_routers
from services.ingest.context import IngestContext
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.db.engine import create_engine
from shared.log.postgres import PostgresLogReader, PostgresLogWriter
from shared.metrics import Metrics
from shared.web.auth import KeyStore
from shared.web.openapi import document_models
from shared.web.ops import ops_router

logger = logging.getLogger(__name__)


def create_embedded_app(
    settings: Settings,
    *,
    keys: KeyStore,
    clock: Clock | None = None,
    on_fatal: FatalHandler | None = None,
) -> FastAPI:
    clock = clock or SystemClock()
    metrics = Metrics()
    engine = create_engine(settings.async_database_url, pool_size=settings.db_pool_size)
    writer = PostgresLogWriter(engine, batch_max=settings.log_append_batch_max)
    reader = PostgresLogReader(
        engine, settings.consumer_group, idle_seconds=settings.aggregator_idle_seconds
    )
    aggregator = build_aggregator(
        settings,
        engine=engine,
        reader=reader,
        dead_letters=TableDeadLetters(),
        metrics=metrics,
        clock=clock,
    )
    runner = AggregatorRunner(aggregator, on_fatal)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        await runner.start()
        try:
            yield
        finally:
            await writer.stop()
            await runner.stop()
            await engine.dispose()

    async def database_ready() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    app = FastAPI(
        title="journeymap",
        description="Live customer journey maps, experience maps and friction alerts.",
        version="0.1.0",
        lifespan=lifespan,
    )
    ingest = IngestContext(
        settings=settings, writer=writer, keys=keys, metrics=metrics, clock=clock
    )
    api = ApiContext(settings=settings, engine=engine, keys=keys, clock=clock)
    for router in [*ingest_routers(ingest), *api_routers(api)]:
        app.include_router(router)
    app.include_router(
        ops_router(metrics.registry, {"database": database_ready, "aggregator": runner.check_alive})
    )
    document_models(app, ingest_documented_bodies())
    return app
