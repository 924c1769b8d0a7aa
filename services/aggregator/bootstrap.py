"""The aggregator's composition root."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.batch import BatchProcessor
from services.aggregator.consumer import Aggregator
from services.aggregator.dead_letters import DeadLetterSink, KafkaDeadLetters, TableDeadLetters
from services.aggregator.dispatcher import Dispatcher
from services.aggregator.hot_state import HotStates
from services.aggregator.notifiers.registry import build_notifiers
from services.aggregator.runner import AggregatorRunner, FatalHandler
from services.aggregator.store import PostgresDatabase, StoreWiring
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.db.component import database_component
from shared.db.engine import create_engine
from shared.db.presence import AggregatorPresence
from shared.domain.batch import BatchPolicy
from shared.log.interface import EventLogReader
from shared.log.kafka_connection import kafka_connection
from shared.log.kafka_reader import KafkaLogReader
from shared.log.kafka_topics import ensure_log_topics
from shared.log.postgres import PostgresLogReader
from shared.metrics import Metrics
from shared.web.service import Component, service_app


def build_log_reader(settings: Settings, engine: AsyncEngine) -> EventLogReader:
    if settings.log == "kafka":
        return KafkaLogReader(
            kafka_connection(settings),
            settings.kafka_topic,
            settings.consumer_group,
            engine,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
            max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
            batch_max=settings.aggregator_batch_max,
            ensure_topics=ensure_log_topics(settings),
        )
    return PostgresLogReader(
        engine, settings.consumer_group, idle_seconds=settings.aggregator_idle_seconds
    )


def build_dead_letters(settings: Settings) -> DeadLetterSink:
    if settings.log == "kafka":
        return KafkaDeadLetters(kafka_connection(settings), settings.kafka_dlq_topic)
    return TableDeadLetters()


def batch_policy(settings: Settings) -> BatchPolicy:
    return BatchPolicy(
        settings.stage_model.catalogue(),
        settings.inactivity_window,
        settings.rules,
        settings.rules.negative_sentiment_max,
    )


def build_processor(
    settings: Settings, *, engine: AsyncEngine, dead_letters: DeadLetterSink, topic: str
) -> BatchProcessor:
    wiring = StoreWiring(
        dead_letters,
        group_id=settings.consumer_group,
        topic=topic,
        notifiers=settings.notifiers,
        base_url=settings.base_url,
    )
    return BatchProcessor(
        PostgresDatabase(engine, wiring),
        batch_policy(settings),
        HotStates(settings.aggregator_hot_customers),
        dead_letters,
    )


def build_aggregator(
    settings: Settings,
    *,
    engine: AsyncEngine,
    reader: EventLogReader,
    dead_letters: DeadLetterSink,
    metrics: Metrics,
    clock: Clock,
) -> Aggregator:
    processor = build_processor(
        settings, engine=engine, dead_letters=dead_letters, topic=reader.topic
    )
    return Aggregator(
        reader,
        processor,
        metrics,
        clock,
        batch_max=settings.aggregator_batch_max,
    )


def aggregator_component(
    settings: Settings,
    *,
    engine: AsyncEngine,
    metrics: Metrics,
    clock: Clock,
    on_fatal: FatalHandler | None = None,
) -> Component:
    dead_letters = build_dead_letters(settings)
    aggregator = build_aggregator(
        settings,
        engine=engine,
        reader=build_log_reader(settings, engine),
        dead_letters=dead_letters,
        metrics=metrics,
        clock=clock,
    )
    runner = AggregatorRunner(aggregator, on_fatal)
    dispatcher = build_dispatcher(settings, engine=engine, metrics=metrics, clock=clock)
    presence = AggregatorPresence(engine)
    return Component(
        checks={"aggregator": runner.check_alive},
        start=[presence.start, runner.start, dispatcher.start],
        stop=[dispatcher.stop, runner.stop, presence.stop],
    )


def build_dispatcher(
    settings: Settings, *, engine: AsyncEngine, metrics: Metrics, clock: Clock
) -> Dispatcher:
    return Dispatcher(
        engine,
        build_notifiers(settings.notifiers),
        {n.name: n.min_severity for n in settings.notifiers},
        metrics,
        clock,
        base_url=settings.base_url,
        max_attempts=settings.delivery_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
        backoff_max_seconds=settings.delivery_backoff_max_seconds,
        alertmanager_resend_seconds=settings.alertmanager_resend_seconds,
    )


def create_aggregator_app(
    settings: Settings, *, clock: Clock | None = None, on_fatal: FatalHandler | None = None
) -> FastAPI:
    """`journeymap aggregator`: the consumer, with its health and metrics endpoints."""
    metrics = Metrics()
    engine = create_engine(settings.async_database_url, pool_size=settings.db_pool_size)
    return service_app(
        "journeymap aggregator",
        [
            database_component(engine),
            aggregator_component(
                settings,
                engine=engine,
                metrics=metrics,
                clock=clock or SystemClock(),
                on_fatal=on_fatal,
            ),
        ],
        metrics,
    )
