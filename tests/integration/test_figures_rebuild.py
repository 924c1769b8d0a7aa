"""The incrementally kept journeys and figures equal a from-scratch recomputation.

Whatever the order, duplication and batching of the events, the journey rows (with
their funnel columns and outcomes), the journeys' stored steps, the touchpoint figures
and the hotspots that the aggregator keeps live are exactly what `journeymap
rebuild-maps` computes from the stored touchpoints.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.bootstrap import batch_policy
from services.aggregator.rebuild import rebuild_maps
from shared.config import Settings
from shared.db.engine import driver_connection
from shared.log.postgres import PostgresLogWriter
from shared.schemas.log_event import LogEvent
from tests.support.aggregating import append, running, table_aggregator
from tests.support.maps import wait_until_consumed
from tests.support.postgres import reset_database

WINDOW = timedelta(hours=3)
TYPES = [
    ("ad_impression", "ads"),
    ("ad_click", "ads"),
    ("product_view", "web"),
    ("email_open", "email"),
    ("add_to_cart", "web"),
    ("checkout_started", "web"),
    ("purchase", "web"),
    ("purchase", "app"),
    ("chat_started", "support"),
    ("review_posted", "web"),
    ("survey_response", "email"),
    ("page_error", "web"),
]
GAPS = [timedelta(0), timedelta(minutes=5), timedelta(hours=1), timedelta(hours=4)]


def generated_events(seed: int, now: datetime) -> list[LogEvent]:
    """Customers with several journeys each; some old (over by now), some still open.

    Delivered shuffled, with duplicates, so many events arrive late for their journey.
    """
    rng = random.Random(seed)
    events: list[LogEvent] = []
    for c in range(rng.randint(2, 8)):
        at = now - (timedelta(days=3) if rng.random() < 0.5 else timedelta(hours=2))
        for n in range(rng.randint(1, 14)):
            at += rng.choice(GAPS) if n else timedelta(0)
            event_type, channel = rng.choice(TYPES)
            events.append(
                LogEvent(
                    event_id=f"s{seed}-c{c}-{n}",
                    customer_id=f"c{c}",
                    type=event_type,
                    channel=channel,
                    product_id=rng.choice(["p1", "p1", "p2", None]),
                    occurred_at=min(at, now),
                    received_at=now,
                    source="test",
                    sentiment=rng.choice([None, None, -0.9, -0.2, 0.5]),
                    nps=rng.randint(0, 10) if event_type == "survey_response" else None,
                    csat=rng.randint(1, 5) if event_type == "chat_started" else None,
                )
            )
    events += rng.sample(events, k=len(events) // 4)
    rng.shuffle(events)
    return events


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    """What the dashboards are computed from; all-zero counter rows are no figures."""
    async with engine.connect() as sa_conn:
        conn = await driver_connection(sa_conn)
        journeys = await conn.fetch(
            "SELECT customer_id, product_id, instance, stage, stage_rank, "
            "stage_seconds, started_at, converted_at, "
            "last_event_at, abandoned_at, first_channel, last_type, last_channel, state::text "
            "FROM journeys ORDER BY 1, 2, 3"
        )
        steps = await conn.fetch("SELECT * FROM journey_steps ORDER BY 1, 2, 3, 4")
        touch = await conn.fetch(
            "SELECT * FROM touch_stats WHERE (journeys, touches, converted_after, bounced, "
            "sentiment_micros, sentiment_count) <> (0, 0, 0, 0, 0, 0) ORDER BY 1, 2, 3, 4"
        )
        hotspots = await conn.fetch("SELECT * FROM hotspot_stats ORDER BY 1, 2, 3, 4")
        timeouts = await conn.fetch(
            "SELECT customer_id, product_id, instance, due_at FROM journey_timeouts ORDER BY 1, 2"
        )
    return {
        "journeys": [dict(r) for r in journeys],
        "steps": [dict(r) for r in steps],
        "touch": [dict(r) for r in touch],
        "hotspots": [dict(r) for r in hotspots],
        "timeouts": [dict(r) for r in timeouts],
    }


async def idle_ticks_done(engine: AsyncEngine, floor: datetime) -> None:
    """Until the idle aggregator has abandoned every journey whose timeout passed."""
    for _ in range(500):
        async with engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            due = await conn.fetchval(
                "SELECT count(*) FROM journey_timeouts WHERE due_at <= $1", floor
            )
        if due == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the idle aggregator did not abandon the journeys that timed out")


@pytest.mark.timeout(300)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(min_value=0, max_value=2**31), batch_max=st.sampled_from([1, 7, 500]))
async def test_incremental_figures_equal_a_recomputation(
    database_url: str, seed: int, batch_max: int
) -> None:
    from shared.db.engine import create_engine

    await reset_database(database_url)
    engine = create_engine(database_url, pool_size=5)
    writer = PostgresLogWriter(engine)
    config = Settings(inactivity_window=WINDOW)
    now = datetime.now(UTC)
    try:
        await writer.start()
        events = generated_events(seed, now)
        aggregator = table_aggregator(engine, batch_max=batch_max, inactivity_window=WINDOW)
        async with running(aggregator):
            rng = random.Random(seed)
            start = 0
            while start < len(events):
                size = rng.randint(1, 12)
                await append(writer, events[start : start + size])
                start += size
            await wait_until_consumed(engine)
            await idle_ticks_done(engine, now - config.rules.allowed_lateness)
        incremental = await snapshot(engine)
        await rebuild_maps(
            engine,
            batch_policy(config),
            group_id="g",
            event_time_floor=now - config.rules.allowed_lateness,
        )
        recomputed = await snapshot(engine)
    finally:
        await writer.stop()
        await engine.dispose()
    assert incremental["journeys"], "the generated events made no journeys"
    assert incremental["steps"], "the generated events placed no steps"
    for part in ("journeys", "steps", "touch", "hotspots", "timeouts"):
        assert incremental[part] == recomputed[part], part
