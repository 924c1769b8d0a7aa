"""A real PostgreSQL for the tests: the local server on 127.0.0.1:5432 if it answers,
otherwise one started with pgserver. Each test session gets its own database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from shared.db.local_server import start_local_postgres

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _local_server_answers() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), timeout=1):
        return True
    return False


async def _can_login(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def admin_url() -> str:
    """A URL with rights to create databases."""
    explicit = os.environ.get("JOURNEYMAP_TEST_ADMIN_URL")
    if explicit:
        return explicit
    if _local_server_answers() and asyncio.run(_can_login(LOCAL_ADMIN_URL)):
        return LOCAL_ADMIN_URL
    data_dir = Path(tempfile.mkdtemp(prefix="jm-test-pg-"))
    journeymap_url = start_local_postgres(data_dir)
    return journeymap_url.replace("/journeymap?", "/postgres?")


def with_database(url: str, database: str) -> str:
    base, _, query = url.partition("?")
    server = base.rsplit("/", 1)[0]
    return f"{server}/{database}" + (f"?{query}" if query else "")


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """Create a uniquely named database; drop it afterwards."""
    admin = admin_url()
    name = f"jm_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(admin, name)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


TABLES_TO_EMPTY = (
    "event_log",
    "consumer_offsets",
    "touchpoints",
    "journeys",
    "experiences",
    "dead_letters",
)


async def reset_database(url: str) -> None:
    """Empty every table the services write, keeping the schema."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'event_log_head')"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        if names:
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY")
        await conn.execute("UPDATE event_log_head SET position = 0")
    finally:
        await conn.close()
