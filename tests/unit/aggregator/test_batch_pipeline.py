"""The batch path (file, load, apply, save) over the in-memory store, no PostgreSQL.

The same log, read in one batch or cut into many with redeliveries, leaves the same
tables: maps, steps, figures, hotspots, alerts, timers, dead letters and offsets.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from services.aggregator.batch import BatchProcessor
from services.aggregator.bootstrap import batch_policy
from services.aggregator.dead_letters import TableDeadLetters
from services.aggregator.decode import decode
from services.aggregator.errors import ConcurrentMapUpdate
from services.aggregator.hot_state import HotStates
from shared.config import Settings
from shared.db.state_json import experience_to_json, journey_to_json
from shared.domain.alerts import Alert, AlertStatus, Change, Severity, acknowledge
from shared.domain.friction.systemic import systemic_key
from shared.domain.stored import StoredExperience
from shared.log.interface import LogBatch, LogRecord
from shared.schemas.log_event import LogEvent
from tests.support.events import T0, log_event, random_events
from tests.support.memory_store import MemoryDatabase, MemoryStore, Tables

NOW = T0 + timedelta(days=1)


def the_log() -> list[LogRecord]:
    """Shuffled journeys, a customer who keeps calling support, a checkout nobody
    finished, a poison record; all on one partition."""
    events: list[LogEvent] = random_events(customers=8, per_customer=10)
    events += [
        log_event(f"call-{n}", "support_ticket_opened", 30 + n, customer_id="caller")
        for n in range(4)
    ]
    events.append(log_event("co", "checkout_started", 40, customer_id="buyer"))
    events.append(log_event("late", "product_view", 900, customer_id="other"))
    values = [event.model_dump_json().encode() for event in events]
    values.insert(5, b"{not json")
    return [LogRecord("touchpoints", 0, offset, None, value) for offset, value in enumerate(values)]


def processor(database: MemoryDatabase, hot: int) -> BatchProcessor:
    settings = Settings(inactivity_window=timedelta(hours=3))
    return BatchProcessor(database, batch_policy(settings), HotStates(hot), TableDeadLetters())


async def read(
    database: MemoryDatabase, records: list[LogRecord], cuts: list[int], hot: int
) -> None:
    """Process the log in batches ending at `cuts`; each batch also redelivers the
    previous one's records (already counted) at its start."""
    batches = processor(database, hot)
    start = 0
    for end in [*cuts, len(records)]:
        redelivered = records[max(0, start - 3) : start]
        chunk = records[start:end]
        if chunk:
            stored = database.tables.offsets.get(0, -1)
            batch = LogBatch([*redelivered, *chunk], {0: stored})
            await batches.process(batch, decode(batch.records), NOW)
        start = end


def comparable(tables: Tables) -> dict[str, object]:
    return {
        "journeys": {
            key: (journey_to_json(s.state), s.abandoned_at) for key, s in tables.journeys.items()
        },
        "steps": tables.steps,
        "experiences": {c: experience_to_json(e.state) for c, e in tables.experiences.items()},
        "figures": {k: v for k, v in tables.touch_figures.items() if not v.empty},
        "hotspots": tables.hotspots,
        "alerts": sorted(
            (a.key, a.status.value, a.occurrences, a.touchpoints) for a in tables.alerts.values()
        ),
        "timers": tables.timers,
        "timeouts": tables.timeouts,
        "dead_letters": [p.record.offset for p in tables.dead_letters],
        "offsets": tables.offsets,
        "watermarks": tables.watermarks,
    }


async def test_one_batch_or_many_with_redeliveries_store_the_same_tables() -> None:
    records = the_log()
    whole = MemoryDatabase()
    await read(whole, records, [], hot=0)

    tables = whole.tables
    assert len(tables.journeys) >= 8
    assert sum(len(steps) for steps in tables.steps.values()) >= 8 * 8
    assert {a.rule for a in tables.alerts.values()} >= {"repeated_support", "checkout_abandoned"}
    assert [change for _, change in tables.outbox].count(Change.TRIGGERED) >= 2
    assert [p.record.offset for p in tables.dead_letters] == [5]
    assert tables.offsets == {0: len(records) - 1}
    assert len(tables.touchpoints) == len(records) - 1

    rng = random.Random(3)
    for hot in (0, 100):
        cut = MemoryDatabase()
        cuts = sorted(rng.sample(range(1, len(records)), 12))
        await read(cut, records, cuts, hot=hot)
        assert comparable(cut.tables) == comparable(tables)


async def test_a_failed_save_leaves_nothing_and_the_retry_counts_once() -> None:
    records = the_log()
    database = MemoryDatabase()
    batches = processor(database, hot=100)
    first = LogBatch(records[:20], {0: -1})
    await batches.process(first, decode(first.records), NOW)
    before = comparable(database.tables)

    # Another writer changes an experience the next batch reads (and holds in cache).
    second = LogBatch(records[20:], {0: 19})
    touched = {t.customer_id for t in decode(second.records).touchpoints}
    customer = min(touched & database.tables.experiences.keys())
    held = database.tables.experiences[customer]
    database.tables.experiences[customer] = StoredExperience(held.state, held.version + 1)
    with pytest.raises(ConcurrentMapUpdate):
        await batches.process(second, decode(second.records), NOW)
    after = comparable(database.tables)
    assert after == before | {"experiences": after["experiences"]}

    await batches.process(second, decode(second.records), NOW)
    assert database.tables.offsets == {0: len(records) - 1}
    assert len(database.tables.touchpoints) == len(records) - 1


class AcknowledgedMeanwhile(MemoryDatabase):
    """A person acknowledges alert 1 after the batch read it, before it relocks it."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryStore]:
        async with super().transaction() as store:
            yield _AcknowledgingStore(store.t)


class _AcknowledgingStore(MemoryStore):
    async def lock_alerts(self, keys: Iterable[str]) -> list[Alert]:
        wanted = set(keys)
        alert = self.t.alerts[1]
        if alert.key in wanted and alert.acknowledged_by is None:
            self.t.alerts[1] = acknowledge(alert, "ana", None, NOW).alert
        return await super().lock_alerts(wanted)


async def test_a_quiet_systemic_alert_acknowledged_meanwhile_is_cleared_on_a_retry() -> None:
    database = AcknowledgedMeanwhile()
    quiet = Alert(
        key=systemic_key("error_touchpoint", "p9"),
        rule="systemic_friction",
        customer_id=None,
        product_id="p9",  # no event of the batch names it: read without its lock
        severity=Severity.CRITICAL,
        status=AlertStatus.OPEN,
        summary="error_touchpoint widespread",
        first_seen=T0,
        last_seen=T0,
        scope="error_touchpoint",
        id=1,
    )
    database.tables.alerts[1] = quiet
    batches = processor(database, hot=0)
    records = the_log()
    batch = LogBatch(records, {0: -1})

    with pytest.raises(ConcurrentMapUpdate):
        await batches.process(batch, decode(batch.records), NOW)
    assert database.tables.alerts[1] == quiet  # nothing saved

    # The retry reads the acknowledged alert, and clears it as it now is.
    database.tables.alerts[1] = acknowledge(quiet, "ana", None, NOW).alert
    await batches.process(batch, decode(batch.records), NOW)
    cleared = database.tables.alerts[1]
    assert (cleared.status, cleared.acknowledged_by) == (AlertStatus.RESOLVED, "ana")
