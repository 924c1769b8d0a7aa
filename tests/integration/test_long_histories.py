"""Long histories over HTTP: the maps page them; an upgraded database keeps its maps."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.sql import maps as map_sql
from shared.db.engine import driver_connection
from shared.db.migrate import alembic_config
from shared.domain import experience, journey
from shared.domain.journey_stats import funnel_facts
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.domain.stored import JourneyRow
from tests.support.embedded import Running, running_embedded
from tests.support.legacy import legacy_experience_doc, legacy_journey_doc
from tests.support.polling import eventually
from tests.support.touchpoints import T0, touch

KINDS = [
    ("product_view", "web", {"sentiment": 0.5}),
    ("search", "web", {}),
    ("add_to_cart", "web", {}),
    ("chat_started", "chat", {"sentiment": -0.25}),
]


def loyal_events(count: int) -> list[dict[str, Any]]:
    """`count` events a minute apart for one customer and product."""
    events = []
    for n in range(count):
        event_type, channel, fields = KINDS[n % len(KINDS)]
        events.append(
            {
                "event_id": f"l{n:04d}",
                "customer_id": "loyal",
                "product_id": "bike",
                "type": event_type,
                "channel": channel,
                "timestamp": (T0 + timedelta(minutes=n)).isoformat(),
                **fields,
            }
        )
    return events


async def map_when(service: Running, path: str, count: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await service.reader.get(path)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if body["touchpoint_count"] == count else None

    return await eventually(probe, within=60)


def page_ids(body: dict[str, Any]) -> list[str]:
    """The page's touchpoints in the journey's order (stages are in order too)."""
    placed = body["touchpoints_before_start"] + [
        t for stage in body["stages"] for t in stage["touchpoints"]
    ]
    return [t["event_id"] for t in placed]


async def test_a_long_journey_and_experience_are_paged(clean_database: str) -> None:
    events = loyal_events(450)
    async with running_embedded(clean_database) as service:
        posted = await service.writer.post("/v1/events", json={"batch": events})
        assert posted.status_code == 202
        first = await map_when(service, "/v1/customers/loyal/journeys/bike", 450)
        pages = [first]
        while pages[-1]["next_cursor"] is not None:
            response = await service.reader.get(
                "/v1/customers/loyal/journeys/bike",
                params={"cursor": pages[-1]["next_cursor"], "limit": 200},
            )
            assert response.status_code == 200
            pages.append(response.json())
        experience_map = (await service.reader.get("/v1/customers/loyal/experience")).json()

    assert [len(page_ids(page)) for page in pages] == [200, 200, 50]
    assert [i for page in pages for i in page_ids(page)] == [e["event_id"] for e in events]
    assert sum(stage["touchpoint_count"] for stage in first["stages"]) == 450
    # A chat moves the journey to service; what follows there is a revisit or stays.
    assert {s["stage"]: s["touchpoint_count"] for s in first["stages"]} == {
        "consideration": 2,
        "decision": 1,
        "service": 447,
    }
    sentiment = experience_map["sentiment"]
    assert sentiment["count"] == 225
    assert sentiment["average"] == (113 * 0.5 - 112 * 0.25) / 225
    with_sentiment = [e["event_id"] for e in events if "sentiment" in e]
    assert [p["event_id"] for p in sentiment["points"]] == with_sentiment[-200:]
    assert experience_map["support"]["contacts"] == 112
    chats = [e["event_id"] for e in events if e["type"] == "chat_started"]
    assert [c["event_id"] for c in experience_map["support"]["timeline"]] == chats


async def test_a_database_from_before_bounded_states_keeps_its_maps_and_goes_on(
    database_url: str, engine: AsyncEngine
) -> None:
    """Written by the previous version (documents with lists), then `journeymap migrate`."""
    history = [
        touch("ad_click", 0, customer="old", product="bike", channel="ads"),
        touch("product_view", 1, customer="old", product="bike", sentiment=0.5),
        touch("purchase", 2, customer="old", product="bike", revenue="10"),
        touch("call", 3, customer="old", product="bike", channel="phone", sentiment=-0.5),
        touch("survey_response", 4, customer="old", product=None, nps=9),
    ]
    path = journey.walk("old", "bike", [t for t in history if t.product_id], DEFAULT_CATALOGUE)
    summary = experience.build("old", history, DEFAULT_CATALOGUE)
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0010")
    try:
        async with engine.begin() as sa_conn:
            conn = await driver_connection(sa_conn)
            await map_sql.insert_touchpoints(conn, history)
            facts = funnel_facts(path.state, DEFAULT_CATALOGUE)
            await map_sql.save_journeys(conn, [JourneyRow(path.state, None, facts)], {})
            await map_sql.save_experiences(conn, [summary], {})
            old_journey = legacy_journey_doc(path)
            old_experience = legacy_experience_doc(summary, history, DEFAULT_CATALOGUE)
            await conn.execute("UPDATE journeys SET state = $1::jsonb", _json(old_journey))
            await conn.execute("UPDATE experiences SET state = $1::jsonb", _json(old_experience))
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")

    async with running_embedded(database_url) as service:
        before = (await service.reader.get("/v1/customers/old/journeys/bike")).json()
        experience_map = (await service.reader.get("/v1/customers/old/experience")).json()
        posted = await service.writer.post(
            "/v1/events",
            json={
                "event_id": "after-upgrade",
                "customer_id": "old",
                "product_id": "bike",
                "type": "review_posted",
                "channel": "web",
                "timestamp": (T0 + timedelta(minutes=5)).isoformat(),
            },
        )
        assert posted.status_code == 202
        after = await map_when(service, "/v1/customers/old/journeys/bike", 5)

    assert page_ids(before) == [step.event_id for step in path.steps]
    assert before["touchpoint_count"] == 4
    assert experience_map["sentiment"]["count"] == 2
    assert experience_map["support"]["contacts"] == 1
    assert experience_map["nps"]["latest"] == 9
    assert page_ids(after) == [*page_ids(before), "after-upgrade"]
    assert [s["stage"] for s in after["stages"]][-1] == "loyalty"
    async with engine.connect() as sa_conn:
        conn = await driver_connection(sa_conn)
        rewritten = await conn.fetchval("SELECT state FROM journeys")
        positions = await conn.fetch("SELECT position FROM journey_steps ORDER BY position")
    assert "steps" not in rewritten
    assert [r["position"] for r in positions] == [0, 1, 2, 3, 4]


def _json(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()


async def test_a_page_of_a_journey_rebuilt_since_is_refused(clean_database: str) -> None:
    events = loyal_events(300)
    path = "/v1/customers/loyal/journeys/bike"
    async with running_embedded(clean_database) as service:
        assert (await service.writer.post("/v1/events", json={"batch": events})).status_code == 202
        first = await map_when(service, path, 300)
        # A late event, before everything: the journey is rebuilt, its steps renumbered.
        late = {
            **events[0],
            "event_id": "late",
            "timestamp": (T0 - timedelta(minutes=1)).isoformat(),
        }
        assert (await service.writer.post("/v1/events", json=late)).status_code == 202
        await map_when(service, path, 301)
        stale = await service.reader.get(path, params={"cursor": first["next_cursor"]})
        other_instance = await service.reader.get(
            path, params={"cursor": first["next_cursor"], "instance": 1}
        )

    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_cursor"
    assert other_instance.status_code == 422
    assert "instance 0, not 1" in other_instance.json()["detail"]
