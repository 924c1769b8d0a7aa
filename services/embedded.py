"""The embedded default: ingest, aggregator and query API in one process.

One engine, one metrics registry, one FastAPI app, the PostgreSQL event log unless
configured otherwise. This is the composition root behind `journeymap up`.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.aggregator.bootstrap import aggregator_component
from services.aggregator.runner import FatalHandler
from services.api.bootstrap import api_component
from services.ingest.bootstrap import ingest_component
from services.keys import build_key_store
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.db.component import database_component
from shared.db.engine import create_engine
from shared.metrics import Metrics
from shared.web.service import service_app


def create_embedded_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    on_fatal: FatalHandler | None = None,
) -> FastAPI:
    clock = clock or SystemClock()
    metrics = Metrics()
    engine = create_engine(settings.async_database_url, pool_size=settings.db_pool_size)
    keys = build_key_store(settings, engine)
    return service_app(
        "journeymap",
        [
            database_component(engine),
            ingest_component(settings, engine=engine, keys=keys, metrics=metrics, clock=clock),
            aggregator_component(
                settings, engine=engine, metrics=metrics, clock=clock, on_fatal=on_fatal
            ),
            api_component(settings, engine=engine, keys=keys, clock=clock),
        ],
        metrics,
    )
