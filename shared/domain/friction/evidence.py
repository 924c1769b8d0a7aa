"""The stored touchpoints the rules consult, whatever order they arrived in.

A rule never raises what a stored event rules out, and counts every stored event of
its window, however late either arrived. Storage loads what a batch needs: the
customers' errors, service contacts, checkouts and purchases around the batch's
events and due timers. It holds the batch's own touchpoints too: they are stored
before the rules run.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain.touchpoint import Touchpoint


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
