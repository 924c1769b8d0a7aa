"""What the ingest routes need, wired once by a composition root."""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.rejections import RejectionStore
from services.ingest.throttle import Throttle
from shared.clock import Clock
from shared.config import Settings
from shared.log.interface import EventLogWriter
from shared.metrics import Metrics
from shared.web.auth import KeyStore


@dataclass(frozen=True)
class IngestContext:
    settings: Settings
    writer: EventLogWriter
    keys: KeyStore
    metrics: Metrics
    clock: Clock
    rejections: RejectionStore
    throttle: Throttle
