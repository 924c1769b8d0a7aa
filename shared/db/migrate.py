"""Apply the schema migrations (Alembic) to a database."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config

from shared.config import to_asyncpg_url

logger = logging.getLogger(__name__)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "shared.db:migrations")
    # Alembic's config is an INI parser: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", to_asyncpg_url(database_url).replace("%", "%%"))
    return config


def migrate(database_url: str) -> None:
    """Bring the schema to the newest revision. Blocking: call it off the event loop."""
    command.upgrade(alembic_config(database_url), "head")
    logger.info("database schema is up to date")
