"""The ingest service's composition root."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.context import IngestContext
from services.ingest.rejections import RejectionStore, Retention
from services.ingest.routes import events, segment, support
from services.ingest.routes.cors import cors_router
from services.ingest.routes.events import events_router
from services.ingest.routes.segment import segment_router
from services.ingest.routes.support import support_router
from services.ingest.throttle import Throttle
from services.keys import build_key_store
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.db.component import database_component
from shared.db.engine import create_engine
from shared.log.interface import EventLogWriter
from shared.log.kafka_connection import kafka_connection
from shared.log.kafka_topics import ensure_log_topics
from shared.log.kafka_writer import KafkaLogWriter
from shared.log.postgres import PostgresLogWriter
from shared.metrics import Metrics
from shared.web.auth import KeyStore
from shared.web.service import Component, service_app


def build_log_writer(settings: Settings, engine: AsyncEngine) -> EventLogWriter:
    if settings.log == "kafka":
        return KafkaLogWriter(
            kafka_connection(settings),
            settings.kafka_topic,
            send_timeout=settings.kafka_send_timeout,
            max_pending=settings.kafka_max_pending,
            linger_ms=settings.kafka_linger_ms,
            compression=None
            if settings.kafka_compression == "none"
            else settings.kafka_compression,
            ensure_topics=ensure_log_topics(settings),
        )
    return PostgresLogWriter(engine, batch_max=settings.log_append_batch_max)


def door_paths(routers: list[APIRouter]) -> list[str]:
    return [
        route.path for router in routers for route in router.routes if isinstance(route, APIRoute)
    ]


def ingest_component(
    settings: Settings, *, engine: AsyncEngine, keys: KeyStore, metrics: Metrics, clock: Clock
) -> Component:
    writer = build_log_writer(settings, engine)
    metrics.ingest_log_pending.set_function(lambda: writer.pending)
    context = IngestContext(
        settings=settings,
        writer=writer,
        keys=keys,
        metrics=metrics,
        clock=clock,
        rejections=RejectionStore(
            engine,
            Retention(
                settings.rejections_max_age,
                settings.rejections_max_per_key,
                settings.rejections_payload_bytes,
            ),
        ),
        throttle=Throttle(settings.rate_limit_per_second, settings.rate_limit_burst),
    )
    doors = [events_router(context), segment_router(context), support_router(context)]
    return Component(
        routers=[*doors, cors_router(context, door_paths(doors))],
        checks={"event log": writer.check_ready},
        start=[writer.start],
        stop=[writer.stop],
        documented_bodies=(
            *events.DOCUMENTED_BODIES,
            *segment.DOCUMENTED_BODIES,
            *support.DOCUMENTED_BODIES,
        ),
    )


def create_ingest_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """`journeymap ingest`: the ingest API alone."""
    metrics = Metrics()
    engine = create_engine(settings.async_database_url, pool_size=settings.db_pool_size)
    keys = build_key_store(settings, engine)
    return service_app(
        "journeymap ingest",
        [
            database_component(engine),
            ingest_component(
                settings, engine=engine, keys=keys, metrics=metrics, clock=clock or SystemClock()
            ),
        ],
        metrics,
    )
