"""Recently used customers' map states, kept in memory between batches.

A customer's events come in sessions, so the next batch usually touches customers the
last one did. Their journey (latest instance of each product) and experience are taken
from here instead of being read and decoded again. The cache is bounded (least
recently used customers leave first), so memory stays flat however many customers
there are.

Entries hold what a committed batch saved, with the rows' versions, and every save
still checks the version it read: if another writer changed a row (an anonymous
visitor's events on another partition, a journey timeout), the save fails, the batch
rolls back and is retried, and the cache is emptied so the retry reads the database.
A save also fails if a row it read was deleted since. Batches fold states in place,
so any failed batch empties the cache too.

A journey row can be deleted and created again (a rebuild that merges instances), so
its version alone could repeat. A customer's experience row is never deleted, and it
is saved with its version checked in every batch that folds or rebuilds any of their
journeys. So a journey held here is used only with its customer's experience held
too: a change by another writer always shows in the experience's version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cachetools import LRUCache

from shared.domain.stored import JourneyKey, StoredExperience, StoredJourney


@dataclass(slots=True)
class _Customer:
    experience: StoredExperience | None = None
    # The latest instance of each of the customer's journeys that is known here.
    journeys: dict[str, StoredJourney] = field(default_factory=dict)


class HotStates:
    def __init__(self, customers: int) -> None:
        self._customers: LRUCache[str, _Customer] | None = (
            LRUCache(customers) if customers > 0 else None
        )

    @property
    def enabled(self) -> bool:
        return self._customers is not None

    def journeys(self, keys: Iterable[JourneyKey]) -> dict[JourneyKey, StoredJourney]:
        """The latest instances of these journeys that are held here, with their
        customers' experiences."""
        found: dict[JourneyKey, StoredJourney] = {}
        if self._customers is None:
            return found
        for customer, product in keys:
            held = self._customers.get(customer)
            if held is not None and held.experience is not None and product in held.journeys:
                found[(customer, product)] = held.journeys[product]
        return found

    def experiences(self, customers: Iterable[str]) -> dict[str, StoredExperience]:
        found: dict[str, StoredExperience] = {}
        if self._customers is None:
            return found
        for customer in customers:
            held = self._customers.get(customer)
            if held is not None and held.experience is not None:
                found[customer] = held.experience
        return found

    def keep(
        self, journeys: Iterable[StoredJourney], experiences: Iterable[StoredExperience]
    ) -> None:
        """What a committed transaction saved; of a journey's instances, the latest."""
        if self._customers is None:
            return
        for stored in experiences:
            self._held(stored.state.customer_id).experience = stored
        for journey in journeys:
            state = journey.state
            held = self._held(state.customer_id).journeys
            known = held.get(state.product_id)
            if known is None or known.state.instance <= state.instance:
                held[state.product_id] = journey

    def forget(self, customers: Iterable[str]) -> None:
        if self._customers is not None:
            for customer in customers:
                self._customers.pop(customer, None)

    def forget_all(self) -> None:
        if self._customers is not None:
            self._customers.clear()

    def _held(self, customer: str) -> _Customer:
        assert self._customers is not None
        held = self._customers.get(customer)
        if held is None:
            held = self._customers[customer] = _Customer()
        return held
