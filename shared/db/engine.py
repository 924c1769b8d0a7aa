"""The async engine: one per process, built by the composition root."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.config import to_asyncpg_url


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        to_asyncpg_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy connection, for COPY and array binds.

    It shares the SQLAlchemy connection's transaction, if one was begun.
    """
    if conn.in_transaction():
        # SQLAlchemy sends BEGIN lazily, before its own first statement. Statements sent
        # straight to asyncpg before that would each commit on their own.
        await conn.exec_driver_sql("SELECT 1")
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, asyncpg.Connection):
        raise TypeError(f"expected an asyncpg connection, got {type(driver).__name__}")
    return driver


async def check_database(engine: AsyncEngine) -> None:
    """Readiness: raise unless the database answers."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
