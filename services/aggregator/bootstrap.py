"""The aggregator's composition root."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.batch import BatchProcessor
from services.aggregator.consumer import Aggregator
from services.aggregator.dead_letters import DeadLetterSink
from shared.clock import Clock
from shared.config import Settings
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.log.interface import EventLogReader
from shared.metrics import Metrics


def build_aggregator(
    settings: Settings,
    *,
    engine: AsyncEngine,
    reader: EventLogReader,
    dead_letters: DeadLetterSink,
    metrics: Metrics,
    clock: Clock,
) -> Aggregator:
    processor = BatchProcessor(
        engine, DEFAULT_CATALOGUE, dead_letters, group_id=settings.consumer_group
    )
    return Aggregator(
        reader,
        processor,
        metrics,
        clock,
        batch_max=settings.aggregator_batch_max,
    )
