"""The friction step of the aggregator's unit of work: rules, timers, alerts, outbox.

It runs inside the batch transaction (or a timer tick's), after the touchpoints are
stored, so alerts, timers, the rules' memory and the offsets commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.aggregator import friction_store
from shared.config import NotifierSettings
from shared.db import alert_store
from shared.domain.alerts import AlertBook, Change, Raise, Signal
from shared.domain.friction import config as rule_names
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.engine import FrictionEngine
from shared.domain.friction.evidence import EvidenceKey, EvidenceRange, evidence_needs
from shared.domain.friction.rules import closed_stalls
from shared.domain.friction.systemic import firings, systemic_signals
from shared.domain.journey import JourneyState
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint
from shared.log.interface import LogRecord


@dataclass(frozen=True, slots=True)
class Triggered:
    """An alert opened: for the metrics, and for the hotspots (its first touchpoint)."""

    rule: str
    severity: str
    touchpoint: str | None
    backfill: bool = False


@dataclass(frozen=True, slots=True)
class FrictionOutcome:
    watermarks: dict[int, datetime]
    triggered: list[Triggered]


class FrictionStep:
    def __init__(
        self,
        rules: FrictionRules,
        catalogue: StageCatalogue,
        *,
        notifiers: Sequence[NotifierSettings],
        base_url: str,
    ) -> None:
        self._rules = rules
        self._catalogue = catalogue
        self._notifiers = notifiers
        self._base_url = base_url

    @property
    def allowed_lateness(self) -> timedelta:
        return self._rules.allowed_lateness

    def _engine(self, watermarks: Mapping[int, datetime | None]) -> FrictionEngine:
        engine = FrictionEngine(self._rules, self._catalogue)
        engine.watermarks = {p: wm for p, wm in watermarks.items() if wm is not None}
        return engine

    async def on_batch(
        self,
        conn: asyncpg.Connection,
        items: Sequence[tuple[LogRecord, Touchpoint]],
        new_ids: set[str],
        watermarks: Mapping[int, datetime | None],
        now: datetime,
        *,
        journeys: Mapping[tuple[str, str], Sequence[JourneyState]] = {},
    ) -> FrictionOutcome:
        """Run the rules over the batch in log order; only new touchpoints are evaluated.

        `journeys` are the batch's journeys as the maps now hold them: those that got a
        late event are checked for the stalls it reveals.
        """
        engine = self._engine(watermarks)
        stream: list[tuple[int, Touchpoint, bool]] = []
        evaluated: set[str] = set()
        for record, touchpoint in items:
            new = touchpoint.event_id in new_ids and touchpoint.event_id not in evaluated
            evaluated.add(touchpoint.event_id)
            stream.append((record.partition, touchpoint, new))
        customers = {t.customer_id for _, t, new in stream if new}
        latest = max(t.occurred_at for _, t, _ in stream) - self._rules.allowed_lateness
        await friction_store.load_timers(
            conn,
            engine,
            partitions=sorted({p for p, _, _ in stream}),
            due_by=max([latest, *engine.watermarks.values()]),
            customers=customers,
        )
        await friction_store.load_customers(conn, engine, customers)
        await friction_store.load_evidence(
            conn, engine, self._evidence_needs(engine, [t for _, t, new in stream if new])
        )
        signals = engine.run(stream)
        late = {key: journeys[key] for key in engine.late_journeys if key in journeys}
        signals += closed_stalls(late, self._rules)
        triggered = await self._settle(conn, engine, signals, now)
        await friction_store.save(conn, engine)
        return FrictionOutcome(dict(engine.watermarks), triggered)

    async def on_tick(
        self, conn: asyncpg.Connection, watermarks: Mapping[int, datetime], now: datetime
    ) -> FrictionOutcome:
        """Idle partitions: the wall clock advances their watermarks and fires timers."""
        engine = self._engine({})
        await friction_store.load_timers(
            conn, engine, partitions=sorted(watermarks), due_by=max(watermarks.values())
        )
        await friction_store.load_evidence(conn, engine, self._evidence_needs(engine, []))
        signals: list[Signal] = []
        for partition, watermark in sorted(watermarks.items()):
            signals += engine.advance(partition, watermark)
        triggered = await self._settle(conn, engine, signals, now)
        await friction_store.save(conn, engine)
        return FrictionOutcome(dict(engine.watermarks), triggered)

    def _evidence_needs(
        self, engine: FrictionEngine, new: Sequence[Touchpoint]
    ) -> dict[EvidenceKey, EvidenceRange]:
        return evidence_needs(new, engine.timers.pending.values(), self._rules, self._catalogue)

    async def _settle(
        self,
        conn: asyncpg.Connection,
        engine: FrictionEngine,
        signals: list[Signal],
        now: datetime,
    ) -> list[Triggered]:
        """Signals to alerts; then systemic friction over the firings; then the outbox."""
        triggered = await self._apply(conn, signals, now)
        counts = await friction_store.count_firings(
            conn,
            firings([s for s in signals if isinstance(s, Raise)]),
            self._rules.systemic_window,
        )
        active = await alert_store.active_alerts(conn, rule_names.SYSTEMIC_FRICTION)
        watermark = max(engine.watermarks.values(), default=None)
        systemic = systemic_signals(counts, {a.key: a for a in active}, watermark, self._rules)
        return triggered + await self._apply(conn, systemic, now)

    async def _apply(
        self, conn: asyncpg.Connection, signals: list[Signal], now: datetime
    ) -> list[Triggered]:
        if not signals:
            return []
        book: AlertBook = await alert_store.load_book(conn, {s.key for s in signals})
        history_before = now - self._rules.page_within
        for signal in signals:
            book.apply(signal, self._rules.cooldown, history_before)
        await alert_store.save_book(
            conn, book, notifiers=self._notifiers, base_url=self._base_url, now=now
        )
        return [
            Triggered(
                n.alert.rule,
                n.alert.severity.value,
                n.alert.touchpoints[0] if n.alert.touchpoints else None,
                n.alert.backfill,
            )
            for n in book.notifications
            if n.change is Change.TRIGGERED
        ]
