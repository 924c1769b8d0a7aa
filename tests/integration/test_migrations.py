"""The migrations build exactly the schema the models describe, and carry data over."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import create_engine
from shared.db.migrate import alembic_config
from tests.support.embedded import running_embedded
from tests.support.polling import eventually


async def test_models_and_migrations_agree(database_url: str) -> None:
    # Raises if autogenerate would find anything to add, drop or change.
    await asyncio.to_thread(command.check, alembic_config(database_url))


async def test_revisit_counts_are_added_to_the_journeys_saved_before(clean_database: str) -> None:
    """0013 counts each journey's revisits per stage from its steps."""
    config = alembic_config(clean_database)
    batch = [
        {"event_id": f"e{n}", "customer_id": "rita", "type": event_type, "product_id": "bike",
         "timestamp": f"2026-11-20T10:0{n}:00Z"}
        for n, event_type in enumerate(
            ["ad_click", "add_to_cart", "product_view", "ad_click", "purchase", "product_view"]
        )
    ]  # fmt: skip
    async with running_embedded(clean_database) as service:
        assert (await service.writer.post("/v1/events", json={"batch": batch})).status_code == 202

        async def counted() -> Any:
            response = await service.reader.get("/v1/customers/rita/journeys/bike")
            return response.status_code == 200 and response.json()["touchpoint_count"] == 6

        await eventually(counted)
    engine = create_engine(clean_database, pool_size=1)
    try:
        saved = await _journey_state(engine)
        assert saved["stage_revisits"] == {"decision": 3}
        await asyncio.to_thread(command.downgrade, config, "0012")
        assert "stage_revisits" not in await _journey_state(engine)

        await asyncio.to_thread(command.upgrade, config, "head")

        assert await _journey_state(engine) == saved
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")
        await engine.dispose()


async def _journey_state(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        state: dict[str, Any] = (
            await conn.execute(text("SELECT state FROM journeys WHERE customer_id = 'rita'"))
        ).scalar_one()
    return state
