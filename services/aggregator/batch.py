"""The per-batch unit of work: one transaction from new touchpoints to stored offsets."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator import store
from services.aggregator.dead_letters import DeadLetterSink
from services.aggregator.decode import Decoded
from services.aggregator.maps import fold, journey_keys
from shared.db.engine import driver_connection
from shared.db.offsets import advance_offsets
from shared.domain import journey
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


class BatchProcessor:
    def __init__(
        self,
        engine: AsyncEngine,
        catalogue: StageCatalogue,
        dead_letters: DeadLetterSink,
        *,
        group_id: str,
    ) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._dead_letters = dead_letters
        self._group_id = group_id

    async def close(self) -> None:
        await self._dead_letters.stop()

    async def process(self, batch: LogBatch, decoded: Decoded, topic: str) -> BatchOutcome:
        # Within a batch the first copy of an event id wins, as it would across batches.
        distinct = list({t.event_id: t for t in reversed(decoded.touchpoints)}.values())
        async with self._engine.begin() as sa_conn:
            conn = await driver_connection(sa_conn)
            # Order of I/O, all in this one transaction:
            # 1. insert touchpoints, skipping event ids already stored (dedup);
            inserted = await store.insert_touchpoints(conn, distinct)
            new = [t for t in distinct if t.event_id in inserted]
            # 2. load the maps they touch, fold them in, rebuild journeys with late events;
            keys = journey_keys(new)
            journeys = await store.load_journeys(conn, keys)
            experiences = await store.load_experiences(conn, {t.customer_id for t in new})
            update = fold(new, journeys, experiences, self._catalogue)
            rebuilt = await store.journey_touchpoints(conn, update.journeys_to_rebuild)
            for (customer, product), touchpoints in rebuilt.items():
                update.journeys[(customer, product)] = journey.build(
                    customer, product, touchpoints, self._catalogue
                )
            # 3. save the maps;
            await store.save_journeys(conn, list(update.journeys.values()))
            await store.save_experiences(conn, list(update.experiences.values()))
            # 4. keep the poison records;
            await self._dead_letters.send(conn, decoded.poison)
            # 5. advance the stored offsets, only from where this reader started;
            await advance_offsets(
                sa_conn, self._group_id, topic, batch.start_offsets, batch.end_offsets
            )
            # 6. commit (leaving the block).
        return BatchOutcome(
            new=new,
            duplicates=len(decoded.touchpoints) - len(new),
            poison=len(decoded.poison),
            rebuilt_journeys=len(update.journeys_to_rebuild),
        )
