"""Reads of the maps for the query API."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import ScalarResult, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.models import ExperienceRow, JourneyRow
from shared.db.state_json import experience_from_json, journey_from_json
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState


def _doc(value: Any) -> dict[str, Any]:
    # JSONB comes back parsed through the engine's deserializer; tolerate raw text too.
    parsed = orjson.loads(value) if isinstance(value, str | bytes) else value
    if not isinstance(parsed, dict):
        raise TypeError("state document is not an object")
    return parsed


async def experience(engine: AsyncEngine, customer_id: str) -> ExperienceState | None:
    async with engine.connect() as conn:
        state = await conn.scalar(
            select(ExperienceRow.state).where(ExperienceRow.customer_id == customer_id)
        )
    return None if state is None else experience_from_json(_doc(state))


async def journeys(engine: AsyncEngine, customer_id: str) -> list[JourneyState]:
    """The customer's started journeys, by product id."""
    async with engine.connect() as conn:
        states: ScalarResult[Any] = await conn.scalars(
            select(JourneyRow.state)
            .where(JourneyRow.customer_id == customer_id, JourneyRow.stage.is_not(None))
            .order_by(JourneyRow.product_id)
        )
        return [journey_from_json(_doc(state)) for state in states.all()]


async def journey(engine: AsyncEngine, customer_id: str, product_id: str) -> JourneyState | None:
    async with engine.connect() as conn:
        state = await conn.scalar(
            select(JourneyRow.state).where(
                JourneyRow.customer_id == customer_id,
                JourneyRow.product_id == product_id,
                JourneyRow.stage.is_not(None),
            )
        )
    return None if state is None else journey_from_json(_doc(state))
