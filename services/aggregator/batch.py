"""A batch's whole path, in one transaction: file, load, apply, save.

1. File the touchpoints: link anonymous ids to customers (re-keying their stored
   touchpoints), then insert the touchpoints not stored yet. Every read below goes by
   customer and sees the batch's own touchpoints, as a rebuild from scratch would.
2. Load what the batch reads (`_load`), from the hot cache where it holds it.
3. Apply: one pure function, `shared.domain.batch.apply_batch`.
4. Save the changes, the poison records and the offsets (`_save`); commit.

A timer tick (idle partitions, wall clock) is steps 2 to 4 with no touchpoints.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.aggregator import identity
from services.aggregator.dead_letters import DeadLetterSink
from services.aggregator.decode import Decoded
from services.aggregator.errors import ConcurrentMapUpdate
from services.aggregator.hot_state import HotStates
from services.aggregator.store import Database, Store
from shared.db.data_versions import HOTSPOTS_SCOPE, product_scope
from shared.domain.alerts import Alert
from shared.domain.batch import (
    BatchPolicy,
    Changes,
    Observed,
    Snapshot,
    Triggered,
    Work,
    alert_reads,
    apply_batch,
    settle_alerts,
    watermarks_after,
)
from shared.domain.experience_stats import ALERT, HotspotFigures
from shared.domain.fold import journey_keys, late_journeys
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.evidence import evidence_needs
from shared.domain.stored import StoredExperience, StoredJourney, instance_key
from shared.domain.touchpoint import Touchpoint
from shared.log.interface import LogBatch

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    new: list[Touchpoint]
    duplicates: int
    poison: int
    rebuilt_journeys: int
    alerts_triggered: list[Triggered] = field(default_factory=list)
    identity_merges_refused: int = 0

    @staticmethod
    def combine(outcomes: list[BatchOutcome]) -> BatchOutcome:
        return BatchOutcome(
            new=[t for o in outcomes for t in o.new],
            duplicates=sum(o.duplicates for o in outcomes),
            poison=sum(o.poison for o in outcomes),
            rebuilt_journeys=sum(o.rebuilt_journeys for o in outcomes),
            alerts_triggered=[a for o in outcomes for a in o.alerts_triggered],
            identity_merges_refused=sum(o.identity_merges_refused for o in outcomes),
        )


class BatchProcessor:
    def __init__(
        self,
        database: Database,
        policy: BatchPolicy,
        hot: HotStates,
        dead_letters: DeadLetterSink,
    ) -> None:
        self._database = database
        self._policy = policy
        self._hot = hot
        self._dead_letters = dead_letters

    async def close(self) -> None:
        await self._dead_letters.stop()

    async def process(self, batch: LogBatch, decoded: Decoded, now: datetime) -> BatchOutcome:
        try:
            async with self._database.transaction() as store:
                # 1. file the touchpoints; within a batch the first copy of an event id
                #    wins, as it would across batches;
                identities = await identity.resolve(store, decoded.touchpoints)
                await store.drop_maps(identities.linked)
                resolved = identities.touchpoints
                distinct = list({t.event_id: t for t in reversed(resolved)}.values())
                inserted = await store.insert_touchpoints(distinct)
                stream: list[Observed] = []
                for (record, _), touchpoint in zip(decoded.items, resolved, strict=True):
                    new = touchpoint.event_id in inserted
                    inserted.discard(touchpoint.event_id)
                    stream.append(Observed(record.partition, touchpoint, new))
                work = Work(
                    stream,
                    rebuild=frozenset(identities.rebuild),
                    retired=frozenset(identities.linked),
                )
                # 2. load, 3. apply, 4. settle the alerts, 5. save.
                stored = await store.watermarks(batch.start_offsets)
                snapshot = await self._load(store, work, stored)
                changes = apply_batch(snapshot, work, self._policy)
                if work.stream:
                    await self._settle(store, changes, [*snapshot.evidence, *work.new], now)
                await save(store, changes, now, self._policy.rules)
                await store.keep_poison(decoded.poison)
                await store.advance_offsets(
                    batch.start_offsets, batch.end_offsets, batch.end_digests, changes.watermarks
                )
        except BaseException:
            # States were folded in place: the cache no longer holds what is stored.
            self._hot.forget_all()
            raise
        self._remember(changes)
        return BatchOutcome(
            new=work.new,
            duplicates=len(decoded.touchpoints) - len(work.new),
            poison=len(decoded.poison),
            rebuilt_journeys=changes.rebuilt_journeys,
            alerts_triggered=changes.triggered,
            identity_merges_refused=len(identities.refused),
        )

    async def tick(self, positions: Mapping[int, int], now: datetime) -> list[Triggered]:
        """Fire the timers of idle, caught-up partitions by the wall clock.

        The partitions' offset rows are locked and checked first, so only their owner
        fires their timers.
        """
        lateness = self._policy.rules.allowed_lateness
        async with self._database.reading() as store:
            due = await store.next_due(list(positions))
            systemic = await store.has_active_systemic()
        if (due is None or due > now - lateness) and not systemic:
            return []
        try:
            async with self._database.transaction() as store:
                stored = await store.watermarks(positions, lock=True)
                reached = {p: max(stored.get(p, now - lateness), now - lateness) for p in positions}
                work = Work(advance=reached)
                snapshot = await self._load(store, work, stored)
                changes = apply_batch(snapshot, work, self._policy)
                await self._settle(store, changes, [*snapshot.evidence, *work.new], now)
                await save(store, changes, now, self._policy.rules)
        except BaseException:
            self._hot.forget_all()
            raise
        self._remember(changes)
        return changes.triggered

    async def _load(self, store: Store, work: Work, watermarks: dict[int, datetime]) -> Snapshot:
        """Everything `apply_batch` reads, given the partitions' stored watermarks.
        Each read depends only on the batch and on reads above it."""
        catalogue, rules = self._policy.catalogue, self._policy.rules
        snapshot = Snapshot(watermarks=watermarks)
        new = work.new
        folding = [t for t in new if t.customer_id not in work.rebuild]
        # Maps: the latest instance of each journey, and each customer's experience.
        keys = journey_keys(folding)
        snapshot.latest = self._hot.journeys(keys)
        snapshot.latest.update(await store.latest_journeys(keys - snapshot.latest.keys()))
        customers = {t.customer_id for t in folding} | work.rebuild
        snapshot.experiences = self._hot.experiences(customers)
        snapshot.experiences.update(
            await store.experiences(customers - snapshot.experiences.keys())
        )
        # Journeys built again from all their touchpoints: late ones, and those of
        # customers who absorbed an anonymous history.
        latest = {key: stored.state for key, stored in snapshot.latest.items()}
        late = late_journeys(folding, latest, catalogue)
        if late or work.rebuild or work.retired:
            snapshot.old_journeys = await store.all_journeys(late, work.rebuild | work.retired)
            snapshot.journey_histories = await store.journey_touchpoints(late)
            snapshot.customer_histories = await store.customer_touchpoints(work.rebuild)
        # Friction: watermarks, timers due by them or of the batch's customers, the
        # rules' memory, and the stored events the rules count.
        marks = watermarks_after(snapshot.watermarks, work, rules.allowed_lateness)
        partitions = sorted({o.partition for o in work.stream} | set(work.advance))
        if partitions:
            acting = {t.customer_id for t in new}
            snapshot.timers = await store.timers(partitions, max(marks.values()), acting)
            snapshot.friction = await store.friction_memory(acting)
            needs = evidence_needs(new, snapshot.timers, rules, catalogue)
            snapshot.evidence = await store.evidence(needs)
            # Journeys whose timeout the watermarks pass.
            snapshot.due = await store.due_timeouts(marks, self._policy.expired_per_batch)
            snapshot.due_journeys = await store.journey_instances(
                (t.customer_id, t.product_id, t.instance) for t in snapshot.due
            )
        return snapshot

    async def _settle(
        self, store: Store, changes: Changes, held: list[Touchpoint], now: datetime
    ) -> None:
        """The alerts the signals name, locked, with every open systemic alert and the
        firings systemic friction counts; then the signals settle on them."""
        reads = alert_reads(changes, self._policy)
        locked = await store.lock_alerts(reads.keys)
        ids = {a.id for a in locked}
        systemic = [a for a in await store.active_systemic() if a.id not in ids]
        remembered = await store.firings(reads.firings)
        settle_alerts(changes, [*locked, *systemic], remembered, held, now, self._policy)
        # A quiet systemic alert the watermark cleared was read without its lock.
        book = changes.alerts
        cleared = {book.alerts[h].key for h in book.dirty} - reads.keys
        if cleared:
            found = [a for a in await store.lock_alerts(cleared) if a.active]
            read = [a for a in systemic if a.key in cleared]
            if sorted(found, key=_alert_id) != sorted(read, key=_alert_id):
                raise ConcurrentMapUpdate("a systemic alert changed since this batch read it")

    def _remember(self, changes: Changes) -> None:
        """Keep what the committed transaction saved, for the next batches."""
        if not self._hot.enabled:
            return
        self._hot.forget(
            changes.customers_replaced | {customer for customer, _ in changes.steps_replaced}
        )
        self._hot.keep(
            [
                StoredJourney(
                    row.state,
                    changes.journeys_read.get(instance_key(row.state), 0) + 1,
                    row.abandoned_at,
                )
                for row in changes.journeys
            ],
            [
                StoredExperience(state, changes.experiences_read.get(state.customer_id, 0) + 1)
                for state in changes.experiences
            ],
        )


async def save(store: Store, changes: Changes, now: datetime, rules: FrictionRules) -> None:
    """Every change, in an order that keeps writers of one customer safe."""
    # Maps. The states first: their version check finds another writer of the
    # customer before its steps could collide with ours.
    await store.delete_journeys(changes.deleted_journeys)
    await store.save_journeys(changes.journeys, changes.journeys_read)
    await store.save_experiences(changes.experiences, changes.experiences_read)
    await store.delete_steps(changes.steps_replaced, changes.customers_replaced)
    await store.append_steps(changes.steps)
    await store.remove_timeouts(changes.timeouts_removed)
    await store.take_timeouts(changes.timeouts_taken)
    await store.arm_timeouts(changes.timeouts_armed)
    # Friction: the alerts (locked when read), their firings, the rules' memory.
    if changes.alerts.dirty:
        await store.save_alerts(changes.alerts, now)
    await store.record_firings(changes.firings, rules.systemic_window)
    await store.save_friction(changes.friction, changes.timers)
    # Figures, then what changed for the API's ETags.
    await store.add_touch_figures(changes.touch_figures)
    hotspots = dict(changes.hotspots)
    if changes.alerts_at:
        places = await store.hotspot_keys(changes.alerts_at)
        for event_id in changes.alerts_at:
            if event_id in places:
                key = places[event_id]
                hotspots[key] = hotspots.get(key, HotspotFigures()) + ALERT
    await store.add_hotspot_figures(hotspots)
    scopes = [product_scope(p) for p in changes.products]
    await store.bump_versions(scopes + ([HOTSPOTS_SCOPE] if hotspots else []))


def _alert_id(alert: Alert) -> int:
    return alert.id or 0
