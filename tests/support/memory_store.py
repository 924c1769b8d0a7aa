"""The aggregator's tables in memory: a fake `Database` for tests of the batch path.

A transaction works on a copy of the tables and publishes it only if its block ends
without error, so a failed batch leaves nothing behind, as in PostgreSQL. There are no
locks: transactions must not overlap, so concurrency (two writers, a person's
acknowledgement) is tested on PostgreSQL, not here.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from services.aggregator.decode import Poison
from services.aggregator.errors import ConcurrentMapUpdate
from shared.db.offsets import StaleConsumer
from shared.domain.alerts import Alert, AlertBook, Change
from shared.domain.experience import ExperienceState
from shared.domain.experience_stats import HotspotFigures, HotspotKey, hotspot_key
from shared.domain.friction.evidence import EvidenceKey, EvidenceRange
from shared.domain.friction.state import CustomerFriction
from shared.domain.friction.systemic import FIRING_MEMORY, Firing
from shared.domain.friction.timers import Timer, TimerBook
from shared.domain.journey import JourneyStep
from shared.domain.journey_stats import ProductTouchKey, TouchFigures
from shared.domain.stored import (
    InstanceKey,
    JourneyKey,
    JourneyRow,
    StoredExperience,
    StoredJourney,
    Timeout,
)
from shared.domain.touchpoint import Touchpoint


@dataclass
class Tables:
    touchpoints: dict[str, Touchpoint] = field(default_factory=dict)
    identities: dict[str, str] = field(default_factory=dict)
    journeys: dict[InstanceKey, StoredJourney] = field(default_factory=dict)
    steps: dict[InstanceKey, dict[int, JourneyStep]] = field(default_factory=dict)
    experiences: dict[str, StoredExperience] = field(default_factory=dict)
    friction: dict[str, CustomerFriction] = field(default_factory=dict)
    timers: dict[str, Timer] = field(default_factory=dict)
    timeouts: dict[JourneyKey, Timeout] = field(default_factory=dict)
    alerts: dict[int, Alert] = field(default_factory=dict)
    outbox: list[tuple[int, Change]] = field(default_factory=list)
    firings: list[Firing] = field(default_factory=list)
    touch_figures: dict[ProductTouchKey, TouchFigures] = field(default_factory=dict)
    hotspots: dict[HotspotKey, HotspotFigures] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    dead_letters: list[Poison] = field(default_factory=list)
    offsets: dict[int, int] = field(default_factory=dict)
    watermarks: dict[int, datetime] = field(default_factory=dict)


class MemoryDatabase:
    def __init__(self) -> None:
        self.tables = Tables()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryStore]:
        # Copies in and out: rows share no objects with what a batch holds, as if
        # they were encoded and decoded.
        working = copy.deepcopy(self.tables)
        yield MemoryStore(working)
        self.tables = copy.deepcopy(working)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[MemoryStore]:
        yield MemoryStore(copy.deepcopy(self.tables))


def _by_customer(
    touchpoints: Iterable[Touchpoint], customers: Iterable[str]
) -> dict[str, list[Touchpoint]]:
    wanted = set(customers)
    found: dict[str, list[Touchpoint]] = {}
    for t in touchpoints:
        if t.customer_id in wanted:
            found.setdefault(t.customer_id, []).append(t)
    return found


def _resolve_order(alert: Alert) -> tuple[datetime, int]:
    """Oldest first, so the last of each key wins: by resolve time, then id."""
    return (alert.resolved_at or datetime.min.replace(tzinfo=UTC), alert.id or 0)


class MemoryStore:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    async def lock_links(self, anonymous_ids: Iterable[str]) -> None:
        """One writer at a time already."""

    async def links(self, anonymous_ids: Iterable[str]) -> dict[str, str]:
        return {a: self.t.identities[a] for a in anonymous_ids if a in self.t.identities}

    async def identified(self, ids: Iterable[str]) -> set[str]:
        wanted = set(ids)
        return {t.customer_id for t in self.t.touchpoints.values() if t.identified} & wanted

    async def link(self, anonymous_id: str, customer: str, event_id: str) -> None:
        assert anonymous_id not in self.t.identities, f"{anonymous_id} is linked already"
        self.t.identities[anonymous_id] = customer
        for key, t in self.t.touchpoints.items():
            if (
                t.anonymous_id == anonymous_id
                and not t.identified
                and t.customer_id == anonymous_id
            ):
                self.t.touchpoints[key] = replace(t, customer_id=customer)

    async def insert_touchpoints(self, touchpoints: Sequence[Touchpoint]) -> set[str]:
        new = {t.event_id for t in touchpoints if t.event_id not in self.t.touchpoints}
        self.t.touchpoints.update((t.event_id, t) for t in touchpoints if t.event_id in new)
        return new

    async def drop_maps(self, customers: Iterable[str]) -> None:
        for customer in customers:
            self.t.experiences.pop(customer, None)
            self.t.friction.pop(customer, None)

    async def watermarks(
        self, positions: Mapping[int, int], *, lock: bool = False
    ) -> dict[int, datetime]:
        for partition, offset in positions.items():
            stored = self.t.offsets.get(partition, offset)
            if lock and stored != offset:
                raise StaleConsumer(f"partition {partition} moved past {offset}")
        return {p: self.t.watermarks[p] for p in positions if p in self.t.watermarks}

    async def latest_journeys(self, keys: Iterable[JourneyKey]) -> dict[JourneyKey, StoredJourney]:
        wanted = set(keys)
        latest: dict[JourneyKey, StoredJourney] = {}
        for (customer, product, instance), stored in self.t.journeys.items():
            key = (customer, product)
            if key in wanted and (key not in latest or latest[key].state.instance < instance):
                latest[key] = stored
        return latest

    async def all_journeys(
        self, keys: Iterable[JourneyKey], customers: Iterable[str]
    ) -> dict[InstanceKey, StoredJourney]:
        wanted, whose = set(keys), set(customers)
        return {k: s for k, s in self.t.journeys.items() if k[:2] in wanted or k[0] in whose}

    async def journey_instances(
        self, keys: Iterable[InstanceKey]
    ) -> dict[InstanceKey, StoredJourney]:
        return {k: self.t.journeys[k] for k in keys if k in self.t.journeys}

    async def journey_touchpoints(
        self, keys: Iterable[JourneyKey]
    ) -> dict[JourneyKey, list[Touchpoint]]:
        wanted = set(keys)
        found: dict[JourneyKey, list[Touchpoint]] = {}
        for t in self.t.touchpoints.values():
            if t.product_id is not None and (t.customer_id, t.product_id) in wanted:
                found.setdefault((t.customer_id, t.product_id), []).append(t)
        return found

    async def customer_touchpoints(self, customers: Iterable[str]) -> dict[str, list[Touchpoint]]:
        return _by_customer(self.t.touchpoints.values(), customers)

    async def experiences(self, customers: Iterable[str]) -> dict[str, StoredExperience]:
        return {c: self.t.experiences[c] for c in customers if c in self.t.experiences}

    async def timers(
        self, partitions: Sequence[int], due_by: datetime | None, customers: Iterable[str]
    ) -> list[Timer]:
        whose = set(customers)
        return [
            t
            for t in self.t.timers.values()
            if t.partition in partitions
            and ((due_by is not None and t.due_at <= due_by) or t.customer_id in whose)
        ]

    async def friction_memory(self, customers: Iterable[str]) -> dict[str, CustomerFriction]:
        return {c: self.t.friction[c] for c in customers if c in self.t.friction}

    async def evidence(self, needs: Mapping[EvidenceKey, EvidenceRange]) -> list[Touchpoint]:
        return [
            t
            for t in self.t.touchpoints.values()
            if (wanted := needs.get((t.customer_id, t.type))) is not None
            and t.occurred_at >= wanted.low
            and (wanted.high is None or t.occurred_at <= wanted.high)
        ]

    async def due_timeouts(self, watermarks: Mapping[int, datetime], limit: int) -> list[Timeout]:
        due = [
            t
            for t in self.t.timeouts.values()
            if t.partition in watermarks and t.due_at <= watermarks[t.partition]
        ]
        return sorted(due, key=lambda t: t.due_at)[:limit]

    async def lock_alerts(self, keys: Iterable[str]) -> list[Alert]:
        """The active alert and the last resolved one (latest resolve, then id) of each key."""
        wanted = set(keys)
        found: dict[tuple[str, bool], Alert] = {}
        for alert in sorted(self.t.alerts.values(), key=_resolve_order):
            if alert.key in wanted:
                found[(alert.key, alert.active)] = alert
        return list(found.values())

    async def active_systemic(self) -> list[Alert]:
        return [a for a in self.t.alerts.values() if a.active and a.rule == "systemic_friction"]

    async def firings(
        self, ranges: Mapping[tuple[str, str], tuple[datetime, datetime]]
    ) -> list[Firing]:
        return [
            f
            for f in self.t.firings
            if (bounds := ranges.get((f.rule, f.product_id))) is not None
            and bounds[0] <= f.at <= bounds[1]
        ]

    async def next_due(self, partitions: Sequence[int]) -> datetime | None:
        due = [t.due_at for t in self.t.timers.values() if t.partition in partitions]
        due += [t.due_at for t in self.t.timeouts.values() if t.partition in partitions]
        return min(due, default=None)

    async def has_active_systemic(self) -> bool:
        return any(a.active and a.rule == "systemic_friction" for a in self.t.alerts.values())

    async def delete_journeys(self, keys: Iterable[InstanceKey]) -> None:
        for key in keys:
            self.t.journeys.pop(key, None)

    async def save_journeys(
        self, rows: Sequence[JourneyRow], read: Mapping[InstanceKey, int]
    ) -> None:
        for row in rows:
            state = row.state
            key = (state.customer_id, state.product_id, state.instance)
            stored = self.t.journeys.get(key)
            if (stored.version if stored else 0) != read.get(key, 0):
                raise ConcurrentMapUpdate(f"journey {key} changed since it was read")
            self.t.journeys[key] = StoredJourney(state, read.get(key, 0) + 1, row.abandoned_at)

    async def save_experiences(
        self, states: Sequence[ExperienceState], read: Mapping[str, int]
    ) -> None:
        for state in states:
            stored = self.t.experiences.get(state.customer_id)
            if (stored.version if stored else 0) != read.get(state.customer_id, 0):
                raise ConcurrentMapUpdate(f"experience {state.customer_id} changed")
            version = read.get(state.customer_id, 0) + 1
            self.t.experiences[state.customer_id] = StoredExperience(state, version)

    async def delete_steps(self, keys: Iterable[JourneyKey], customers: Iterable[str]) -> None:
        wanted, whose = set(keys), set(customers)
        for key in [k for k in self.t.steps if k[:2] in wanted or k[0] in whose]:
            del self.t.steps[key]

    async def append_steps(self, steps: Mapping[InstanceKey, Sequence[JourneyStep]]) -> None:
        for key, placed in steps.items():
            held = self.t.steps.setdefault(key, {})
            for step in placed:
                assert step.position not in held, f"step {key} {step.position} stored twice"
                held[step.position] = step

    async def add_touch_figures(self, changes: Mapping[ProductTouchKey, TouchFigures]) -> None:
        for key, figures in changes.items():
            self.t.touch_figures[key] = self.t.touch_figures.get(key, TouchFigures()) + figures

    async def remove_timeouts(self, keys: Iterable[JourneyKey]) -> None:
        for key in keys:
            self.t.timeouts.pop(key, None)

    async def take_timeouts(self, taken: Iterable[Timeout]) -> None:
        for timeout in taken:
            key = (timeout.customer_id, timeout.product_id)
            if key in self.t.timeouts and self.t.timeouts[key].due_at == timeout.due_at:
                del self.t.timeouts[key]

    async def arm_timeouts(self, armed: Iterable[Timeout]) -> None:
        self.t.timeouts.update(((t.customer_id, t.product_id), t) for t in armed)

    async def save_friction(
        self, memory: Mapping[str, CustomerFriction], timers: TimerBook
    ) -> None:
        self.t.friction.update(memory)
        for key in timers.removed - timers.armed:
            self.t.timers.pop(key, None)
        self.t.timers.update((k, timers.pending[k]) for k in timers.armed if k in timers.pending)

    async def save_alerts(self, book: AlertBook, now: datetime) -> None:
        for handle in sorted(book.dirty):
            alert = book.alerts[handle]
            if alert.id is None:
                alert = book.alerts[handle] = replace(alert, id=len(self.t.alerts) + 1)
            assert alert.id is not None
            self.t.alerts[alert.id] = alert
        for note in book.notifications:
            alert_id = book.alerts[note.handle].id
            assert alert_id is not None
            self.t.outbox.append((alert_id, note.change))

    async def record_firings(self, firings: Sequence[Firing], window: timedelta) -> None:
        self.t.firings += firings
        newest: dict[tuple[str, str], datetime] = {}
        for f in firings:
            newest[(f.rule, f.product_id)] = max(f.at, newest.get((f.rule, f.product_id), f.at))
        memory = max(2 * window, FIRING_MEMORY)
        self.t.firings = [
            f
            for f in self.t.firings
            if (f.rule, f.product_id) not in newest
            or f.at >= newest[(f.rule, f.product_id)] - memory
        ]

    async def hotspot_keys(self, event_ids: Iterable[str]) -> dict[str, HotspotKey]:
        held = self.t.touchpoints
        return {i: hotspot_key(held[i]) for i in event_ids if i in held}

    async def add_hotspot_figures(self, changes: Mapping[HotspotKey, HotspotFigures]) -> None:
        for key, figures in changes.items():
            self.t.hotspots[key] = self.t.hotspots.get(key, HotspotFigures()) + figures

    async def bump_versions(self, scopes: Iterable[str]) -> None:
        for scope in set(scopes):
            self.t.versions[scope] = self.t.versions.get(scope, 0) + 1

    async def keep_poison(self, poison: Sequence[Poison]) -> None:
        self.t.dead_letters += poison

    async def advance_offsets(
        self,
        start: Mapping[int, int],
        end: Mapping[int, int],
        digests: Mapping[int, bytes],
        watermarks: Mapping[int, datetime],
    ) -> None:
        for partition, offset in end.items():
            if offset == start[partition]:
                continue
            if self.t.offsets.get(partition, -1) != start[partition]:
                raise StaleConsumer(f"partition {partition} moved past {start[partition]}")
            self.t.offsets[partition] = offset
            if partition in watermarks:
                mark = max(
                    watermarks[partition], self.t.watermarks.get(partition, watermarks[partition])
                )
                self.t.watermarks[partition] = mark
