"""The query API's composition root."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.context import ApiContext
from services.api.routes.alerts import alerts_router
from services.api.routes.console import console_router
from services.api.routes.customers import customers_router
from services.api.routes.dashboards import dashboards_router
from services.api.routes.overview import overview_router
from services.api.routes.rejections import rejections_router
from services.api.routes.session import session_router
from services.keys import build_key_store
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.db.component import database_component
from shared.db.engine import create_engine
from shared.metrics import Metrics
from shared.web.auth import KeyStore
from shared.web.service import Component, service_app


def api_component(
    settings: Settings, *, engine: AsyncEngine, keys: KeyStore, clock: Clock
) -> Component:
    context = ApiContext(settings=settings, engine=engine, keys=keys, clock=clock)
    return Component(
        routers=[
            customers_router(context),
            dashboards_router(context),
            alerts_router(context),
            rejections_router(context),
            overview_router(context),
            session_router(context),
            console_router(),
        ]
    )


def create_api_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """`journeymap api`: the query API alone."""
    metrics = Metrics()
    engine = create_engine(settings.async_database_url, pool_size=settings.db_pool_size)
    keys = build_key_store(settings, engine)
    return service_app(
        "journeymap api",
        [
            database_component(engine),
            api_component(settings, engine=engine, keys=keys, clock=clock or SystemClock()),
        ],
        metrics,
    )
