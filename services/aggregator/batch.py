"""The per-batch unit of work: one transaction from new touchpoints to stored offsets."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator import friction_store, identity, stats_store, store, timeouts
from services.aggregator.dead_letters import DeadLetterSink
from services.aggregator.decode import Decoded
from services.aggregator.friction_step import FrictionStep, Triggered
from services.aggregator.maps_step import MapsStep
from shared.db.data_versions import HOTSPOTS_SCOPE, product_scope
from shared.db.engine import driver_connection
from shared.db.offsets import advance_offsets, stored_watermarks
from shared.domain.experience_stats import (
    ALERT,
    HotspotFigures,
    HotspotKey,
    hotspot_key,
    touchpoint_figures,
)
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
        engine: AsyncEngine,
        maps: MapsStep,
        friction: FrictionStep,
        dead_letters: DeadLetterSink,
        *,
        negative_sentiment_max: float,
        group_id: str,
        topic: str,
    ) -> None:
        self._engine = engine
        self._maps = maps
        self._friction = friction
        self._dead_letters = dead_letters
        self._negative_max = negative_sentiment_max
        self._group_id = group_id
        self._topic = topic

    async def close(self) -> None:
        await self._dead_letters.stop()

    async def process(self, batch: LogBatch, decoded: Decoded, now: datetime) -> BatchOutcome:
        try:
            outcome = await self._process(batch, decoded, now)
        except BaseException:
            self._maps.rolled_back()
            raise
        self._maps.committed()
        return outcome

    async def _process(self, batch: LogBatch, decoded: Decoded, now: datetime) -> BatchOutcome:
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
            placed = [
                (record, touchpoint)
                for (record, _), touchpoint in zip(decoded.items, resolved, strict=True)
            ]
            # 3. update the maps and the product figures (rebuilding journeys with late
            #    touchpoints and customers who absorbed an anonymous history);
            maps = await self._maps.on_batch(
                conn,
                new,
                rebuild=identities.rebuild,
                retired=set(identities.linked),
                partition_of={t.customer_id: r.partition for r, t in placed},
            )
            # 4. run the friction rules in log order: alerts, timers, outbox, deliveries;
            triggered: list[Triggered] = []
            watermarks: dict[int, datetime] = {}
            products = set(maps.products)
            if placed:
                stored = await stored_watermarks(
                    sa_conn, self._group_id, self._topic, batch.start_offsets
                )
                friction = await self._friction.on_batch(
                    conn, placed, inserted, stored, now, journeys=maps.journeys
                )
                triggered, watermarks = friction.triggered, friction.watermarks
                # 5. abandon journeys whose timeout the watermarks passed;
                products |= await self._maps.expire(conn, watermarks)
            # 6. add to the hotspots, and mark what changed for the API's ETags;
            await self._count_hotspots(conn, new, triggered)
            await _mark_changed(conn, products, hotspots=bool(new or triggered))
            # 7. keep the poison records;
            await self._dead_letters.send(conn, decoded.poison)
            # 8. advance the stored offsets (only from where this reader started), with
            #    the watermarks;
            await advance_offsets(
                sa_conn,
                self._group_id,
                self._topic,
                batch.start_offsets,
                batch.end_offsets,
                watermarks,
            )
            # 9. commit (leaving the block).
        return BatchOutcome(
            new=new,
            duplicates=len(decoded.touchpoints) - len(new),
            poison=len(decoded.poison),
            rebuilt_journeys=maps.rebuilt_journeys,
            alerts_triggered=triggered,
            identity_merges_refused=len(identities.refused),
        )

    async def tick(self, positions: Mapping[int, int], now: datetime) -> list[Triggered]:
        """Fire the timers of idle, caught-up partitions by the wall clock.

        The partitions' offset rows are locked and checked first, so only their owner
        fires their timers.
        """
        lateness = self._friction.allowed_lateness
        async with self._engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            due = [
                await friction_store.next_due(conn, list(positions)),
                await timeouts.next_due(conn, list(positions)),
            ]
            systemic = await friction_store.has_active_systemic(conn)
        if all(d is None or d > now - lateness for d in due) and not systemic:
            return []
        try:
            triggered = await self._fire(positions, now)
        except BaseException:
            self._maps.rolled_back()
            raise
        self._maps.committed()
        return triggered

    async def _fire(self, positions: Mapping[int, int], now: datetime) -> list[Triggered]:
        lateness = self._friction.allowed_lateness
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
            products = await self._maps.expire(conn, effective)
            await self._count_hotspots(conn, [], outcome.triggered)
            await _mark_changed(conn, products, hotspots=bool(outcome.triggered))
        return outcome.triggered

    async def _count_hotspots(
        self,
        conn: asyncpg.Connection,
        new: Sequence[Touchpoint],
        triggered: Iterable[Triggered],
    ) -> None:
        figures: dict[HotspotKey, HotspotFigures] = {}
        for touchpoint in new:
            key = hotspot_key(touchpoint)
            figures[key] = figures.get(key, HotspotFigures()) + touchpoint_figures(
                touchpoint, self._negative_max
            )
        by_id = {t.event_id: t for t in new}
        wanted = {a.touchpoint for a in triggered if a.touchpoint is not None}
        known: dict[str, HotspotKey] = {i: hotspot_key(by_id[i]) for i in wanted if i in by_id}
        known.update(await store.hotspot_keys(conn, wanted - known.keys()))
        for alert in triggered:
            where = known.get(alert.touchpoint or "")
            if where is not None:
                figures[where] = figures.get(where, HotspotFigures()) + ALERT
        await stats_store.add_hotspot_figures(conn, figures)


async def _mark_changed(
    conn: asyncpg.Connection, products: Iterable[str], *, hotspots: bool
) -> None:
    await stats_store.bump_versions(
        conn, [product_scope(p) for p in products] + ([HOTSPOTS_SCOPE] if hotspots else [])
    )
