"""Which aggregators are running, through a PostgreSQL advisory lock they hold.

Each aggregator holds the lock shared for as long as it runs, on a connection named
after it. `journeymap rebuild-maps` takes it exclusively: it cannot run beside an
aggregator, it can name the ones it found, and an aggregator that starts meanwhile
waits for it. The lock goes with the session, so a crashed aggregator holds nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.engine import driver_connection
from shared.db.locks import AGGREGATOR_LOCK
from shared.errors import JourneymapError

logger = logging.getLogger(__name__)

LOCK_KEY = (AGGREGATOR_LOCK, 0)


class AggregatorsRunning(JourneymapError):
    def __init__(self, holders: list[str]) -> None:
        super().__init__(
            f"aggregators are running: {'; '.join(holders) or 'one, unnamed'}. Stop them "
            "first (their maps would be overwritten), or pass --force"
        )
        self.holders = holders


class AggregatorPresence:
    """Holds the shared lock on a connection of its own while the aggregator runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._held: AsyncConnection | None = None
        self.name = f"journeymap aggregator on {socket.gethostname()}, pid {os.getpid()}"

    async def start(self) -> None:
        held = await self._engine.connect()
        conn = await driver_connection(held)
        await conn.execute("SELECT set_config('application_name', $1, false)", self.name)
        if not await conn.fetchval("SELECT pg_try_advisory_lock_shared($1, $2)", *LOCK_KEY):
            logger.warning("waiting for journeymap rebuild-maps to finish")
            await conn.execute("SELECT pg_advisory_lock_shared($1, $2)", *LOCK_KEY)
        self._held = held

    async def stop(self) -> None:
        if self._held is None:
            return
        held, self._held = self._held, None
        try:
            conn = await driver_connection(held)
            # The connection goes back to the pool: leave nothing of ours on it.
            await conn.execute("SELECT pg_advisory_unlock_shared($1, $2)", *LOCK_KEY)
            await conn.execute("RESET application_name")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            # The session is gone, and the lock with it: discard the connection.
            await held.invalidate()
        await held.close()


async def lock_holders(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        "AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted",
        *LOCK_KEY,
    )
    return [
        f"{row['application_name'] or 'a session'} "
        f"(from {row['client_addr'] or 'a local socket'}, server pid {row['pid']})"
        for row in rows
    ]


@asynccontextmanager
async def without_aggregators(engine: AsyncEngine, *, force: bool) -> AsyncIterator[None]:
    """Hold the lock exclusively, or raise AggregatorsRunning naming who holds it.

    With `force`, go ahead whoever runs.
    """
    if force:
        yield
        return
    async with engine.connect() as held:
        conn = await driver_connection(held)
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *LOCK_KEY):
            raise AggregatorsRunning(await lock_holders(conn))
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", *LOCK_KEY)
