"""What a batch reads and writes, as one interface over its transaction.

`Store` is what batch.py sees. `PostgresStore` binds the statements of the `sql`
package to one transaction's connection; the tests' fake keeps the same tables in
memory. `Database` opens a store per unit of work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.dead_letters import DeadLetterSink
from services.aggregator.decode import Poison
from services.aggregator.sql import alerts, figures, friction, identities, maps, offsets, timeouts
from shared.config import NotifierSettings
from shared.db import alert_store
from shared.db.engine import driver_connection
from shared.domain.alerts import Alert, AlertBook
from shared.domain.experience import ExperienceState
from shared.domain.experience_stats import HotspotFigures, HotspotKey
from shared.domain.friction.evidence import EvidenceKey, EvidenceRange
from shared.domain.friction.state import CustomerFriction
from shared.domain.friction.systemic import Firing
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


class Store(Protocol):
    # Identities and touchpoints, filed before anything is read.
    async def lock_links(self, anonymous_ids: Iterable[str]) -> None: ...
    async def links(self, anonymous_ids: Iterable[str]) -> dict[str, str]: ...
    async def identified(self, ids: Iterable[str]) -> set[str]: ...
    async def link(self, anonymous_id: str, customer: str, event_id: str) -> None: ...
    async def insert_touchpoints(self, touchpoints: Sequence[Touchpoint]) -> set[str]: ...
    async def drop_maps(self, customers: Iterable[str]) -> None: ...

    # Reads.
    async def watermarks(
        self, positions: Mapping[int, int], *, lock: bool = False
    ) -> dict[int, datetime]: ...
    async def latest_journeys(
        self, keys: Iterable[JourneyKey]
    ) -> dict[JourneyKey, StoredJourney]: ...
    async def all_journeys(
        self, keys: Iterable[JourneyKey], customers: Iterable[str]
    ) -> dict[InstanceKey, StoredJourney]: ...
    async def journey_instances(
        self, keys: Iterable[InstanceKey]
    ) -> dict[InstanceKey, StoredJourney]: ...
    async def journey_touchpoints(
        self, keys: Iterable[JourneyKey]
    ) -> dict[JourneyKey, list[Touchpoint]]: ...
    async def customer_touchpoints(
        self, customers: Iterable[str]
    ) -> dict[str, list[Touchpoint]]: ...
    async def experiences(self, customers: Iterable[str]) -> dict[str, StoredExperience]: ...
    async def timers(
        self, partitions: Sequence[int], due_by: datetime | None, customers: Iterable[str]
    ) -> list[Timer]: ...
    async def friction_memory(self, customers: Iterable[str]) -> dict[str, CustomerFriction]: ...
    async def evidence(self, needs: Mapping[EvidenceKey, EvidenceRange]) -> list[Touchpoint]: ...
    async def due_timeouts(
        self, watermarks: Mapping[int, datetime], limit: int
    ) -> list[Timeout]: ...
    async def lock_alerts(self, keys: Iterable[str]) -> list[Alert]:
        """The active and the last resolved alert of each key, locked until commit."""
        ...

    async def active_systemic(self) -> list[Alert]: ...
    async def firings(
        self, ranges: Mapping[tuple[str, str], tuple[datetime, datetime]]
    ) -> list[Firing]: ...
    async def next_due(self, partitions: Sequence[int]) -> datetime | None: ...
    async def has_active_systemic(self) -> bool: ...

    # Writes.
    async def delete_journeys(self, keys: Iterable[InstanceKey]) -> None: ...
    async def save_journeys(
        self, rows: Sequence[JourneyRow], read: Mapping[InstanceKey, int]
    ) -> None: ...
    async def save_experiences(
        self, states: Sequence[ExperienceState], read: Mapping[str, int]
    ) -> None: ...
    async def delete_steps(self, keys: Iterable[JourneyKey], customers: Iterable[str]) -> None: ...
    async def append_steps(self, steps: Mapping[InstanceKey, Sequence[JourneyStep]]) -> None: ...
    async def add_touch_figures(self, changes: Mapping[ProductTouchKey, TouchFigures]) -> None: ...
    async def remove_timeouts(self, keys: Iterable[JourneyKey]) -> None: ...
    async def take_timeouts(self, taken: Iterable[Timeout]) -> None: ...
    async def arm_timeouts(self, armed: Iterable[Timeout]) -> None: ...
    async def save_friction(
        self, memory: Mapping[str, CustomerFriction], timers: TimerBook
    ) -> None: ...
    async def save_alerts(self, book: AlertBook, now: datetime) -> None: ...
    async def record_firings(self, firings: Sequence[Firing], window: timedelta) -> None: ...
    async def hotspot_keys(self, event_ids: Iterable[str]) -> dict[str, HotspotKey]: ...
    async def add_hotspot_figures(self, changes: Mapping[HotspotKey, HotspotFigures]) -> None: ...
    async def bump_versions(self, scopes: Iterable[str]) -> None: ...
    async def keep_poison(self, poison: Sequence[Poison]) -> None: ...
    async def advance_offsets(
        self,
        start: Mapping[int, int],
        end: Mapping[int, int],
        digests: Mapping[int, bytes],
        watermarks: Mapping[int, datetime],
    ) -> None: ...


class Database(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Store]:
        """A store whose writes commit together when the block ends without error."""
        ...

    def reading(self) -> AbstractAsyncContextManager[Store]:
        """A store for reads outside a transaction."""
        ...


@dataclass(frozen=True, slots=True)
class StoreWiring:
    """What the statements need besides a connection."""

    dead_letters: DeadLetterSink
    group_id: str  # whose offsets
    topic: str
    notifiers: Sequence[NotifierSettings]  # who gets an alert's changes
    base_url: str  # for links in alert payloads


class PostgresDatabase:
    def __init__(self, engine: AsyncEngine, wiring: StoreWiring) -> None:
        self._engine = engine
        self._wiring = wiring

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        async with self._engine.begin() as sa_conn:
            yield PostgresStore(await driver_connection(sa_conn), self._wiring)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Store]:
        async with self._engine.connect() as sa_conn:
            yield PostgresStore(await driver_connection(sa_conn), self._wiring)


class PostgresStore:
    def __init__(self, conn: asyncpg.Connection, wiring: StoreWiring) -> None:
        self._conn = conn
        self._wiring = wiring

    async def lock_links(self, anonymous_ids: Iterable[str]) -> None:
        await identities.lock(self._conn, anonymous_ids)

    async def links(self, anonymous_ids: Iterable[str]) -> dict[str, str]:
        return await identities.links(self._conn, anonymous_ids)

    async def identified(self, ids: Iterable[str]) -> set[str]:
        return await identities.identified(self._conn, ids)

    async def link(self, anonymous_id: str, customer: str, event_id: str) -> None:
        await identities.link(self._conn, anonymous_id, customer, event_id)

    async def insert_touchpoints(self, touchpoints: Sequence[Touchpoint]) -> set[str]:
        return await maps.insert_touchpoints(self._conn, touchpoints)

    async def drop_maps(self, customers: Iterable[str]) -> None:
        await maps.drop_maps(self._conn, customers)

    async def watermarks(
        self, positions: Mapping[int, int], *, lock: bool = False
    ) -> dict[int, datetime]:
        wiring = self._wiring
        return await offsets.watermarks(
            self._conn, wiring.group_id, wiring.topic, positions, lock=lock
        )

    async def latest_journeys(self, keys: Iterable[JourneyKey]) -> dict[JourneyKey, StoredJourney]:
        return await maps.load_latest_journeys(self._conn, keys)

    async def all_journeys(
        self, keys: Iterable[JourneyKey], customers: Iterable[str]
    ) -> dict[InstanceKey, StoredJourney]:
        return await maps.load_all_journeys(self._conn, keys=keys, customers=customers)

    async def journey_instances(
        self, keys: Iterable[InstanceKey]
    ) -> dict[InstanceKey, StoredJourney]:
        return await maps.load_journey_instances(self._conn, keys)

    async def journey_touchpoints(
        self, keys: Iterable[JourneyKey]
    ) -> dict[JourneyKey, list[Touchpoint]]:
        return await maps.journey_touchpoints(self._conn, keys)

    async def customer_touchpoints(self, customers: Iterable[str]) -> dict[str, list[Touchpoint]]:
        return await maps.customer_touchpoints(self._conn, customers)

    async def experiences(self, customers: Iterable[str]) -> dict[str, StoredExperience]:
        states, versions = await maps.load_experiences(self._conn, customers)
        return {c: StoredExperience(state, versions[c]) for c, state in states.items()}

    async def timers(
        self, partitions: Sequence[int], due_by: datetime | None, customers: Iterable[str]
    ) -> list[Timer]:
        return await friction.timers(
            self._conn, partitions=partitions, due_by=due_by, customers=customers
        )

    async def friction_memory(self, customers: Iterable[str]) -> dict[str, CustomerFriction]:
        return await friction.memory(self._conn, customers)

    async def evidence(self, needs: Mapping[EvidenceKey, EvidenceRange]) -> list[Touchpoint]:
        return await friction.evidence(self._conn, needs)

    async def due_timeouts(self, watermarks: Mapping[int, datetime], limit: int) -> list[Timeout]:
        return await timeouts.due(self._conn, watermarks, limit)

    async def lock_alerts(self, keys: Iterable[str]) -> list[Alert]:
        return await alerts.lock(self._conn, keys)

    async def active_systemic(self) -> list[Alert]:
        return await alerts.active_systemic(self._conn)

    async def firings(
        self, ranges: Mapping[tuple[str, str], tuple[datetime, datetime]]
    ) -> list[Firing]:
        return await friction.firings(self._conn, ranges)

    async def next_due(self, partitions: Sequence[int]) -> datetime | None:
        due = [
            await friction.next_due(self._conn, partitions),
            await timeouts.next_due(self._conn, partitions),
        ]
        return min((d for d in due if d is not None), default=None)

    async def has_active_systemic(self) -> bool:
        return await alerts.has_active_systemic(self._conn)

    async def delete_journeys(self, keys: Iterable[InstanceKey]) -> None:
        await maps.delete_journeys(self._conn, keys)

    async def save_journeys(
        self, rows: Sequence[JourneyRow], read: Mapping[InstanceKey, int]
    ) -> None:
        await maps.save_journeys(self._conn, rows, read)

    async def save_experiences(
        self, states: Sequence[ExperienceState], read: Mapping[str, int]
    ) -> None:
        await maps.save_experiences(self._conn, states, read)

    async def delete_steps(self, keys: Iterable[JourneyKey], customers: Iterable[str]) -> None:
        await maps.delete_steps(self._conn, keys=keys, customers=customers)

    async def append_steps(self, steps: Mapping[InstanceKey, Sequence[JourneyStep]]) -> None:
        await maps.append_steps(self._conn, steps)

    async def add_touch_figures(self, changes: Mapping[ProductTouchKey, TouchFigures]) -> None:
        await figures.add_touch_figures(self._conn, changes)

    async def remove_timeouts(self, keys: Iterable[JourneyKey]) -> None:
        await timeouts.disarm(self._conn, keys)

    async def take_timeouts(self, taken: Iterable[Timeout]) -> None:
        await timeouts.take(self._conn, taken)

    async def arm_timeouts(self, armed: Iterable[Timeout]) -> None:
        await timeouts.arm(self._conn, armed)

    async def save_friction(
        self, memory: Mapping[str, CustomerFriction], timers: TimerBook
    ) -> None:
        await friction.save(self._conn, memory, timers)

    async def save_alerts(self, book: AlertBook, now: datetime) -> None:
        await alert_store.save_book(
            self._conn,
            book,
            notifiers=self._wiring.notifiers,
            base_url=self._wiring.base_url,
            now=now,
        )

    async def record_firings(self, firings: Sequence[Firing], window: timedelta) -> None:
        await friction.record_firings(self._conn, firings, window)

    async def hotspot_keys(self, event_ids: Iterable[str]) -> dict[str, HotspotKey]:
        return await maps.hotspot_keys(self._conn, event_ids)

    async def add_hotspot_figures(self, changes: Mapping[HotspotKey, HotspotFigures]) -> None:
        await figures.add_hotspot_figures(self._conn, changes)

    async def bump_versions(self, scopes: Iterable[str]) -> None:
        await figures.bump_versions(self._conn, scopes)

    async def keep_poison(self, poison: Sequence[Poison]) -> None:
        await self._wiring.dead_letters.send(self._conn, poison)

    async def advance_offsets(
        self,
        start: Mapping[int, int],
        end: Mapping[int, int],
        digests: Mapping[int, bytes],
        watermarks: Mapping[int, datetime],
    ) -> None:
        await offsets.advance(
            self._conn, self._wiring.group_id, self._wiring.topic, start, end, digests, watermarks
        )
