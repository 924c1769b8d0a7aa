"""Support systems post interactions and survey answers; they feed the service stage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from shared.db.engine import create_engine
from tests.support.embedded import Running, running_embedded
from tests.support.maps import wait_until_consumed
from tests.support.polling import eventually


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database) as running:
        yield running


async def experience_of(service: Running, customer: str, count: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await service.reader.get(f"/v1/customers/{customer}/experience")
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body["touchpoint_count"] >= count else None

    return await eventually(probe)


async def test_interactions_map_onto_the_service_stage(service: Running) -> None:
    interactions = [
        {"interaction_id": "t1", "customer_id": "kim", "kind": "ticket_opened",
         "product_id": "router", "ticket_id": "T-9", "timestamp": "2026-11-20T10:00:00Z"},
        {"interaction_id": "c1", "customer_id": "kim", "kind": "chat", "product_id": "router",
         "sentiment": -0.7, "timestamp": "2026-11-20T11:00:00Z"},
        {"interaction_id": "p1", "customer_id": "kim", "kind": "call", "csat": 2,
         "timestamp": "2026-11-20T12:00:00Z"},
        {"interaction_id": "t2", "customer_id": "kim", "kind": "ticket_resolved",
         "product_id": "router", "ticket_id": "T-9", "timestamp": "2026-11-20T13:00:00Z"},
    ]  # fmt: skip

    response = await service.writer.post("/v1/support/interactions", json={"batch": interactions})

    assert response.status_code == 202, response.text
    experience = await experience_of(service, "kim", 4)
    contacts = [c["type"] for c in experience["support"]["timeline"]]
    assert contacts == ["support_ticket_opened", "chat_started", "call"]
    assert {c["channel"]: c["touchpoints"] for c in experience["channels"]} == {
        "support": 2, "chat": 1, "phone": 1
    }  # fmt: skip
    assert experience["csat"] == {"average": 2.0, "responses": 1}
    journey = (await service.reader.get("/v1/customers/kim/journeys/router")).json()
    assert journey["stage"] == "service"


async def test_survey_answers_keep_their_comment(service: Running, clean_database: str) -> None:
    answer = {"response_id": "r1", "customer_id": "lee", "nps": 3, "survey": "Q4 NPS",
              "comment": "delivery was late", "timestamp": "2026-11-20T10:00:00Z"}  # fmt: skip

    response = await service.writer.post("/v1/surveys", json=answer)

    assert response.status_code == 202
    experience = await experience_of(service, "lee", 1)
    assert experience["nps"]["latest"] == 3
    assert experience["nps"]["category"] == "detractor"
    engine = create_engine(clean_database)
    try:
        await wait_until_consumed(engine)
        async with engine.connect() as conn:
            properties = await conn.scalar(
                text("SELECT properties FROM touchpoints WHERE event_id = 'r1'")
            )
    finally:
        await engine.dispose()
    assert properties == {"survey": "Q4 NPS", "comment": "delivery was late"}


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/v1/surveys", {"customer_id": "x", "comment": "hi"}, "event", "give nps"),
        ("/v1/support/interactions", {"customer_id": "x", "kind": "fax"}, "kind", "Input should"),
        ("/v1/support/interactions", {"kind": "call"}, "event", "customer_id or anonymous_id"),
    ],
)  # fmt: skip
async def test_bad_interactions_are_named(
    service: Running, path: str, body: dict[str, Any], field: str, message: str
) -> None:
    response = await service.writer.post(path, json=body)

    assert response.status_code == 422
    (rejected,) = response.json()["rejected"]
    assert rejected["errors"][0]["field"] == field
    assert message in rejected["errors"][0]["message"]
