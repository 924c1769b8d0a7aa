"""The per-batch unit of work: one transaction from new touchpoints to stored offsets."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator import friction_store, identity, store
from services.aggregator.dead_letters import DeadLetterSink
from services.aggregator.decode import Decoded
from services.aggregator.friction_step import FrictionStep
from services.aggregator.maps import fold, journey_keys
from shared.db.engine import driver_connection
from shared.db.offsets import advance_offsets, stored_watermarks
from shared.domain import experience, journey
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint
from shared.log.interface import LogBatch

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    new: list[Touchpoint]
    duplicates: int
    poison: int
    rebuilt_journeys: int
    alerts_triggered: list[tuple[str, str]] = field(default_factory=list)
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
        engine: AsyncEngine,
        catalogue: StageCatalogue,
        dead_letters: DeadLetterSink,
        friction: FrictionStep,
        *,
        group_id: str,
        topic: str,
    ) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._dead_letters = dead_letters
        self._friction = friction
        self._group_id = group_id
        self._topic = topic

    async def close(self) -> None:
        await self._dead_letters.stop()

    async def process(self, batch: LogBatch, decoded: Decoded, now: datetime) -> BatchOutcome:
        async with self._engine.begin() as sa_conn:
            conn = await driver_connection(sa_conn)
            # Order of I/O, all in this one transaction:
            # 1. link anonymous ids to customers (re-keying stored touchpoints), and file
            #    every touchpoint under its customer;
            identities = await identity.resolve(conn, decoded.touchpoints)
            resolved = identities.touchpoints
            await store.drop_maps(conn, identities.linked)
            # 2. insert touchpoints, skipping event ids already stored (dedup); within a
            #    batch the first copy of an event id wins, as it would across batches;
            distinct = list({t.event_id: t for t in reversed(resolved)}.values())
            inserted = await store.insert_touchpoints(conn, distinct)
            new = [t for t in distinct if t.event_id in inserted]
            # 3. update the maps they touch (rebuilding journeys with late events and the
            #    customers who just absorbed an anonymous history), and save them;
            rebuilt_journeys = await self._update_maps(conn, new, identities.rebuild)
            # 4. run the friction rules in log order: alerts, timers, outbox, deliveries;
            triggered: list[tuple[str, str]] = []
            watermarks: dict[int, datetime] = {}
            if decoded.items:
                stored = await stored_watermarks(
                    sa_conn, self._group_id, self._topic, batch.start_offsets
                )
                placed = [
                    (record, touchpoint)
                    for (record, _), touchpoint in zip(decoded.items, resolved, strict=True)
                ]
                friction = await self._friction.on_batch(conn, placed, inserted, stored, now)
                triggered, watermarks = friction.triggered, friction.watermarks
            # 5. keep the poison records;
            await self._dead_letters.send(conn, decoded.poison)
            # 6. advance the stored offsets (only from where this reader started), with
            #    the watermarks;
            await advance_offsets(
                sa_conn,
                self._group_id,
                self._topic,
                batch.start_offsets,
                batch.end_offsets,
                watermarks,
            )
            # 7. commit (leaving the block).
        return BatchOutcome(
            new=new,
            duplicates=len(decoded.touchpoints) - len(new),
            poison=len(decoded.poison),
            rebuilt_journeys=rebuilt_journeys,
            alerts_triggered=triggered,
            identity_merges_refused=len(identities.refused),
        )

    async def _update_maps(
        self, conn: asyncpg.Connection, new: list[Touchpoint], rebuild: set[str]
    ) -> int:
        """Fold new touchpoints into the maps; rebuild what folding cannot. Returns the
        number of journeys rebuilt."""
        folding = [t for t in new if t.customer_id not in rebuild]
        journeys, journey_versions = await store.load_journeys(conn, journey_keys(folding))
        experiences, experience_versions = await store.load_experiences(
            conn, {t.customer_id for t in folding}
        )
        update = fold(folding, journeys, experiences, self._catalogue)
        late = await store.journey_touchpoints(conn, update.journeys_to_rebuild)
        for (customer, product), touchpoints in late.items():
            update.journeys[(customer, product)] = journey.build(
                customer, product, touchpoints, self._catalogue
            )
        if rebuild:
            histories = await store.customer_touchpoints(conn, rebuild)
            journey_versions.update(await store.customer_journey_versions(conn, rebuild))
            _, versions = await store.load_experiences(conn, rebuild)
            experience_versions.update(versions)
            for customer, touchpoints in histories.items():
                update.experiences[customer] = experience.build(
                    customer, touchpoints, self._catalogue
                )
                by_product: dict[str, list[Touchpoint]] = {}
                for touchpoint in touchpoints:
                    if touchpoint.product_id is not None:
                        by_product.setdefault(touchpoint.product_id, []).append(touchpoint)
                for product, product_touchpoints in by_product.items():
                    update.journeys[(customer, product)] = journey.build(
                        customer, product, product_touchpoints, self._catalogue
                    )
        await store.save_journeys(conn, list(update.journeys.values()), journey_versions)
        await store.save_experiences(conn, list(update.experiences.values()), experience_versions)
        return len(update.journeys_to_rebuild)

    async def tick(self, positions: Mapping[int, int], now: datetime) -> list[tuple[str, str]]:
        """Fire the timers of idle, caught-up partitions by the wall clock.

        The partitions' offset rows are locked and checked first, so only their owner
        fires their timers.
        """
        lateness = self._friction.allowed_lateness
        async with self._engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            due = await friction_store.next_due(conn, list(positions))
            systemic = await friction_store.has_active_systemic(conn)
        if (due is None or due > now - lateness) and not systemic:
            return []
        async with self._engine.begin() as sa_conn:
            stored = await stored_watermarks(
                sa_conn, self._group_id, self._topic, positions, lock=True
            )
            effective = {
                partition: max(w for w in (stored.get(partition), now - lateness) if w)
                for partition in positions
            }
            conn = await driver_connection(sa_conn)
            outcome = await self._friction.on_tick(conn, effective, now)
        return outcome.triggered
