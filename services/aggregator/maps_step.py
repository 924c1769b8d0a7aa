"""The maps step of the aggregator's unit of work: journeys (with their instances),
experiences, the per-product figures, and journey timeouts.

Every journey whose state changes has its old contribution to the product figures
subtracted and its new one added, in the same transaction, so the figures stay the
exact sum over all journeys (see shared/domain/journey_stats.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from services.aggregator import stats_store, store, timeouts
from services.aggregator.hot_state import HotStates, StoredExperience
from services.aggregator.maps import InstanceKey, JourneyKey, fold, journey_keys
from services.aggregator.stats_store import ProductTouchKey
from services.aggregator.store import JourneyRow, StoredJourney
from shared.domain import experience, journey
from shared.domain.experience import ExperienceState
from shared.domain.instances import build_instances
from shared.domain.journey import JourneyState, JourneyStep
from shared.domain.journey_stats import (
    Contribution,
    TouchFigures,
    TouchKey,
    figures_change,
    funnel_facts,
)
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint

# Most journeys one batch or tick abandons; the rest follow in the next ones.
EXPIRED_PER_STEP = 2000


@dataclass(slots=True)
class _Changes:
    """What the step will write, and what it read to know the figures' change."""

    states: dict[InstanceKey, JourneyState] = field(default_factory=dict)
    # Steps to append, per instance; a rebuilt journey's instances have all theirs here.
    steps: dict[InstanceKey, list[JourneyStep]] = field(default_factory=dict)
    over: set[InstanceKey] = field(default_factory=set)  # a later instance followed it
    deleted: set[InstanceKey] = field(default_factory=set)
    rebuilt: set[InstanceKey] = field(default_factory=set)  # built from all their touchpoints
    read: dict[InstanceKey, StoredJourney] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MapsOutcome:
    rebuilt_journeys: int
    products: set[str]
    # Every journey this batch changed, instance by instance (for the stall check).
    journeys: dict[tuple[str, str], list[JourneyState]] = field(default_factory=dict)


class MapsStep:
    def __init__(
        self, catalogue: StageCatalogue, window: timedelta, hot: HotStates | None = None
    ) -> None:
        self._catalogue = catalogue
        self._window = window
        self._hot = hot if hot is not None else HotStates(0)
        # What the transaction in progress saved, for the cache once it commits.
        self._saved_journeys: list[StoredJourney] = []
        self._saved_experiences: list[StoredExperience] = []
        self._rewritten: set[str] = set()

    def committed(self) -> None:
        """The transaction committed: keep what it saved for the next batches."""
        self._hot.forget(self._rewritten)
        self._hot.keep(self._saved_journeys, self._saved_experiences)
        self._forget_pending()

    def rolled_back(self) -> None:
        """The transaction failed: states may have been folded in place; read again."""
        self._hot.forget_all()
        self._forget_pending()

    def _forget_pending(self) -> None:
        self._saved_journeys, self._saved_experiences = [], []
        self._rewritten = set()

    async def on_batch(
        self,
        conn: asyncpg.Connection,
        new: list[Touchpoint],
        *,
        rebuild: set[str],
        retired: set[str],
        partition_of: Mapping[str, int],
    ) -> MapsOutcome:
        """Fold new touchpoints into the maps; rebuild late journeys, and every journey of
        customers who absorbed an anonymous history (`retired` ids are merged away)."""
        folding = [t for t in new if t.customer_id not in rebuild]
        keys = journey_keys(folding)
        latest = self._hot.journeys(keys)
        latest.update(await store.load_latest_journeys(conn, keys - latest.keys()))
        customers = {t.customer_id for t in folding}
        hot = self._hot.experiences(customers)
        experiences, experience_read = await store.load_experiences(conn, customers - hot.keys())
        experiences.update({customer: held.state for customer, held in hot.items()})
        experience_read.update({customer: held.version for customer, held in hot.items()})
        changes = _Changes(read={_key(s.state): s for s in latest.values()})
        # The figures need the journeys as read: folding changes them in place.
        before = {
            key: Contribution(journey.snapshot(s.state), s.abandoned_at is not None)
            for key, s in changes.read.items()
        }
        update = fold(
            folding,
            {key: s.state for key, s in latest.items()},
            experiences,
            self._catalogue,
            self._window,
        )
        changes.states.update(update.journeys)
        changes.steps.update(update.steps)
        changes.over |= update.followed
        rebuilt_keys = set(update.journeys_to_rebuild)
        if rebuilt_keys or rebuild or retired:
            old = await store.load_all_journeys(
                conn, keys=rebuilt_keys, customers=rebuild | retired
            )
            for key, stored in old.items():
                changes.read.setdefault(key, stored)
                before.setdefault(key, Contribution(stored.state, stored.abandoned_at is not None))
            # Customers rebuilt whole: their touchpoints are read once, for both maps.
            customer_histories = await store.customer_touchpoints(conn, rebuild)
            histories = await store.journey_touchpoints(conn, rebuilt_keys)
            histories.update(_by_journey(customer_histories))
            for (customer, product), touchpoints in histories.items():
                paths = build_instances(
                    customer, product, touchpoints, self._catalogue, self._window
                )
                for path in paths:
                    changes.states[_key(path.state)] = path.state
                    changes.steps[_key(path.state)] = path.steps
                    changes.rebuilt.add(_key(path.state))
                changes.over |= {_key(path.state) for path in paths[:-1]}
            changes.deleted = {key for key in old if key not in changes.states}
            experiences_read = await self._rebuild_experiences(
                conn, customer_histories, update.experiences
            )
            experience_read.update(experiences_read)

        rows = [self._row(state, key in changes.over) for key, state in changes.states.items()]
        after = {
            _key(row.state): Contribution(row.state, row.abandoned_at is not None) for row in rows
        }
        figures: dict[ProductTouchKey, TouchFigures] = {}
        for key in changes.states.keys() | changes.deleted:
            appended = None if key in changes.rebuilt else changes.steps.get(key)
            _add(figures, key[1], figures_change(before.get(key), after.get(key), appended))
        await store.delete_journeys(conn, changes.deleted)
        self._rewritten |= rebuild | retired | {key[0] for key in rebuilt_keys}
        # The states first: their version check finds another writer of the customer
        # before its steps could collide with ours.
        await self._save_journeys(
            conn, rows, {key: stored.version for key, stored in changes.read.items()}
        )
        saved = list(update.experiences.values())
        await store.save_experiences(conn, saved, experience_read)
        if self._hot.enabled:
            self._saved_experiences += [
                StoredExperience(state, experience_read.get(state.customer_id, 0) + 1)
                for state in saved
            ]
        # Rebuilt journeys' steps are written again whole.
        await store.delete_steps(conn, keys=rebuilt_keys, customers=rebuild | retired)
        await store.append_steps(conn, changes.steps)
        await stats_store.add_touch_figures(conn, _nonzero(figures))
        await self._rearm(conn, rows, changes.deleted, partition_of)
        return MapsOutcome(
            rebuilt_journeys=len(rebuilt_keys),
            products={key[1] for key in changes.states.keys() | changes.deleted},
            journeys=_by_product(changes.states.values()),
        )

    async def expire(
        self, conn: asyncpg.Connection, watermarks: Mapping[int, datetime]
    ) -> set[str]:
        """Abandon the latest journeys whose timeout the partition's watermark passed."""
        due = await timeouts.take_due(conn, watermarks, EXPIRED_PER_STEP)
        if not due:
            return set()
        stored = await store.load_journey_instances(
            conn, [(t.customer_id, t.product_id, t.instance) for t in due]
        )
        rows: list[JourneyRow] = []
        read: dict[InstanceKey, int] = {}
        figures: dict[ProductTouchKey, TouchFigures] = {}
        for timeout in due:
            key = (timeout.customer_id, timeout.product_id, timeout.instance)
            stored_journey = stored.get(key)
            if stored_journey is None or not self._still_due(stored_journey, timeout.due_at):
                continue
            state = stored_journey.state
            read[key] = stored_journey.version
            change = figures_change(Contribution(state, False), Contribution(state, True))
            _add(figures, timeout.product_id, change)
            rows.append(JourneyRow(state, timeout.due_at, funnel_facts(state, self._catalogue)))
        await self._save_journeys(conn, rows, read)
        await stats_store.add_touch_figures(conn, _nonzero(figures))
        return {row.state.product_id for row in rows}

    async def _save_journeys(
        self, conn: asyncpg.Connection, rows: list[JourneyRow], read: Mapping[InstanceKey, int]
    ) -> None:
        await store.save_journeys(conn, rows, read)
        if self._hot.enabled:
            self._saved_journeys += [
                StoredJourney(row.state, read.get(_key(row.state), 0) + 1, row.abandoned_at)
                for row in rows
            ]

    def _still_due(self, journey: StoredJourney, due_at: datetime) -> bool:
        state = journey.state
        return (
            journey.abandoned_at is None
            and not state.converted
            and state.last_event_at is not None
            and state.last_event_at + self._window == due_at
        )

    def _row(self, state: JourneyState, over: bool) -> JourneyRow:
        abandoned_at = None
        if over and not state.converted and state.last_event_at is not None:
            abandoned_at = state.last_event_at + self._window
        return JourneyRow(state, abandoned_at, funnel_facts(state, self._catalogue))

    async def _rebuild_experiences(
        self,
        conn: asyncpg.Connection,
        histories: Mapping[str, list[Touchpoint]],
        into: dict[str, ExperienceState],
    ) -> dict[str, int]:
        if not histories:
            return {}
        for customer, touchpoints in histories.items():
            into[customer] = experience.build(customer, touchpoints, self._catalogue)
        _, read = await store.load_experiences(conn, set(histories))
        return read

    async def _rearm(
        self,
        conn: asyncpg.Connection,
        rows: Iterable[JourneyRow],
        deleted: Iterable[InstanceKey],
        partition_of: Mapping[str, int],
    ) -> None:
        """Each journey's latest instance gets a timeout unless it converted."""
        latest: dict[JourneyKey, JourneyState] = {}
        for row in rows:
            key = (row.state.customer_id, row.state.product_id)
            if key not in latest or row.state.instance > latest[key].instance:
                latest[key] = row.state
        gone = {(c, p) for c, p, _ in deleted} - latest.keys()
        arm = [
            timeouts.Timeout(
                state.customer_id,
                state.product_id,
                state.instance,
                partition_of.get(state.customer_id, 0),
                state.last_event_at + self._window,
            )
            for state in latest.values()
            if not state.converted and state.last_event_at is not None
        ]
        await timeouts.disarm(
            conn, gone | {key for key, state in latest.items() if state.converted}
        )
        await timeouts.arm(conn, arm)


def _by_journey(histories: Mapping[str, list[Touchpoint]]) -> dict[JourneyKey, list[Touchpoint]]:
    """Customers' touchpoints split by journey (those with a product)."""
    by_journey: dict[JourneyKey, list[Touchpoint]] = {}
    for customer, touchpoints in histories.items():
        for touchpoint in touchpoints:
            if touchpoint.product_id is not None:
                by_journey.setdefault((customer, touchpoint.product_id), []).append(touchpoint)
    return by_journey


def _by_product(states: Iterable[JourneyState]) -> dict[tuple[str, str], list[JourneyState]]:
    grouped: dict[tuple[str, str], list[JourneyState]] = {}
    for state in sorted(states, key=lambda s: s.instance):
        grouped.setdefault((state.customer_id, state.product_id), []).append(state)
    return grouped


def _key(state: JourneyState) -> InstanceKey:
    return (state.customer_id, state.product_id, state.instance)


def _add(
    into: dict[ProductTouchKey, TouchFigures], product: str, change: Mapping[TouchKey, TouchFigures]
) -> None:
    for (day, event_type, channel), figures in change.items():
        target = (product, day, event_type, channel)
        into[target] = into.get(target, TouchFigures()) + figures


def _nonzero(
    figures: Mapping[ProductTouchKey, TouchFigures],
) -> dict[ProductTouchKey, TouchFigures]:
    return {key: value for key, value in figures.items() if not value.empty}
