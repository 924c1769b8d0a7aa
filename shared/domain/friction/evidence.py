"""The stored touchpoints the rules consult, whatever order they arrived in.

A rule never raises what a stored event rules out, and counts every stored event of
its window, however late either arrived. Storage loads what a batch needs
(`evidence_needs`): for each of the batch's service contacts, errors and checkouts,
the customer's events of that kind within its rule's window, and for each checkout
(new, or loaded with its timer) the purchases since. What is loaded is bounded by the
rules' windows, not by the customer's history. It holds the batch's own touchpoints
too: they are stored before the rules run.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain.friction import config
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.timers import Timer
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint


@dataclass(frozen=True, slots=True)
class EvidenceRange:
    low: datetime
    high: datetime | None  # None: no end

    def widen(self, other: EvidenceRange) -> EvidenceRange:
        high = None if self.high is None or other.high is None else max(self.high, other.high)
        return EvidenceRange(min(self.low, other.low), high)


EvidenceKey = tuple[str, str]  # customer, touchpoint type


def evidence_needs(
    new: Iterable[Touchpoint],
    timers: Iterable[Timer],
    rules: FrictionRules,
    catalogue: StageCatalogue,
) -> dict[EvidenceKey, EvidenceRange]:
    """Which stored events the rules will read for these new touchpoints and timers: per
    customer and type, the range of event time."""
    needs: dict[EvidenceKey, EvidenceRange] = {}

    def need(customer: str, types: Iterable[str], wanted: EvidenceRange) -> None:
        for event_type in types:
            known = needs.get((customer, event_type))
            needs[(customer, event_type)] = wanted if known is None else known.widen(wanted)

    purchases = {catalogue.conversion_type}
    for touchpoint in new:
        at, customer = touchpoint.occurred_at, touchpoint.customer_id
        # The windowed rules count the window ending at each event of their kind, and
        # the later windows a late event lifts: one window either side.
        for types, window in (
            (catalogue.support_contact_types, rules.support_window),
            (catalogue.error_types, rules.error_window),
        ):
            if touchpoint.type in types:
                need(customer, types, EvidenceRange(at - window, at + window))
        if touchpoint.type == rules.checkout_type:
            # Every purchase after it: its timer may fire in this very batch, and a
            # purchase after the window clears the alert it raises.
            need(customer, purchases, EvidenceRange(at, None))
    for timer in timers:
        if timer.rule == config.CHECKOUT_ABANDONED:
            since = timer.due_at - rules.checkout_abandon_after
            need(timer.customer_id, purchases, EvidenceRange(since, None))
    return needs


@dataclass(slots=True)
class Evidence:
    # Per customer, in event-time order (ties by id).
    _by_customer: dict[str, list[Touchpoint]] = field(default_factory=dict)
    _ids: set[str] = field(default_factory=set)

    def add(self, touchpoints: Iterable[Touchpoint]) -> None:
        for touchpoint in touchpoints:
            if touchpoint.event_id in self._ids:
                continue
            self._ids.add(touchpoint.event_id)
            events = self._by_customer.setdefault(touchpoint.customer_id, [])
            bisect.insort(events, touchpoint, key=lambda t: (t.occurred_at, t.event_id))

    def between(
        self,
        customer_id: str,
        types: frozenset[str],
        since: datetime,
        until: datetime | None = None,
        product_id: str | None = None,
    ) -> list[Touchpoint]:
        """The customer's events of `types` in [since, until], of the product if given."""
        events = self._by_customer.get(customer_id, [])
        start = bisect.bisect_left(events, since, key=lambda t: t.occurred_at)
        found = []
        for touchpoint in events[start:]:
            if until is not None and touchpoint.occurred_at > until:
                break
            if touchpoint.type in types and (
                product_id is None or touchpoint.product_id == product_id
            ):
                found.append(touchpoint)
        return found
