"""What the ingest routes need, wired once by a composition root."""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.normalise import TimeBounds
from services.ingest.rejections import RejectionStore
from services.ingest.throttle import Throttle
from services.ingest.validate import ItemLimits
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

    @property
    def time_bounds(self) -> TimeBounds:
        return TimeBounds(self.settings.earliest_event_time, self.settings.max_future_skew)

    @property
    def item_limits(self) -> ItemLimits:
        return ItemLimits(self.settings.max_event_bytes, self.settings.max_property_depth)
