"""Run the friction rules over a partition's touchpoints in log order, with timers.

Before each touchpoint, the partition's watermark (the largest event time seen minus
the allowed lateness) advances and every timer due by it fires. The rules read the
windows they count from the stored touchpoints (`Evidence`), so the alerts do not
depend on the order the events arrived in, nor on how the log was cut into batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain.alerts import Signal
from shared.domain.friction import rules as rule
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.evidence import Evidence
from shared.domain.friction.state import CustomerFriction
from shared.domain.friction.timers import TimerBook
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint


@dataclass(slots=True)
class FrictionEngine:
    rules: FrictionRules
    catalogue: StageCatalogue
    timers: TimerBook = field(default_factory=TimerBook)
    customers: dict[str, CustomerFriction] = field(default_factory=dict)
    watermarks: dict[int, datetime] = field(default_factory=dict)
    evidence: Evidence = field(default_factory=Evidence)
    # Journeys that got an event older than their progress (see rules.closed_stalls).
    late_journeys: set[tuple[str, str]] = field(default_factory=set)

    def observe(
        self,
        partition: int,
        touchpoint: Touchpoint,
        *,
        new: bool,
        unevaluated: AbstractSet[str] = frozenset(),
    ) -> list[Signal]:
        """Advance the partition's watermark by one touchpoint; evaluate it if new."""
        signals = self.advance(partition, touchpoint.occurred_at - self.rules.allowed_lateness)
        if new:
            signals += self._evaluate(partition, touchpoint, unevaluated)
        return signals

    def advance(self, partition: int, watermark: datetime) -> list[Signal]:
        """Move the partition's watermark forward (never back) and fire due timers."""
        current = self.watermarks.get(partition)
        if current is None or watermark > current:
            self.watermarks[partition] = current = watermark
        signals: list[Signal] = []
        while (timer := self.timers.pop_due(partition, current)) is not None:
            signals += rule.on_due(timer, self.rules, self.catalogue, self.evidence)
        return signals

    def _evaluate(
        self, partition: int, touchpoint: Touchpoint, unevaluated: AbstractSet[str]
    ) -> list[Signal]:
        state = self.customers.get(touchpoint.customer_id)
        if state is None:
            state = self.customers[touchpoint.customer_id] = CustomerFriction(
                touchpoint.customer_id
            )
        ctx = rule.Evaluation(
            touchpoint,
            partition,
            state,
            self.timers,
            self.rules,
            self.catalogue,
            self.evidence,
            unevaluated,
            self.late_journeys,
        )
        return [signal for evaluate in rule.PER_TOUCHPOINT for signal in evaluate(ctx)]

    def run(self, stream: Iterable[tuple[int, Touchpoint, bool]]) -> list[Signal]:
        """Observe (partition, touchpoint, is_new) in log order."""
        items = list(stream)
        pending = {t.event_id for _, t, new in items if new}
        signals: list[Signal] = []
        for partition, touchpoint, new in items:
            pending.discard(touchpoint.event_id)
            # The live set, not a copy: a copy per event made a batch quadratic, and the
            # rules only read it while this event is evaluated.
            signals += self.observe(partition, touchpoint, new=new, unevaluated=pending)
        return signals
