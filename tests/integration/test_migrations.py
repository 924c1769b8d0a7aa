"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import asyncio

from alembic import command

from shared.db.migrate import alembic_config


async def test_models_and_migrations_agree(database_url: str) -> None:
    # Raises if autogenerate would find anything to add, drop or change.
    await asyncio.to_thread(command.check, alembic_config(database_url))
