"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.postgres import PostgresLogWriter


@pytest.fixture
async def writer(engine: AsyncEngine) -> AsyncIterator[PostgresLogWriter]:
    writer = PostgresLogWriter(engine)
    await writer.start()
    yield writer
    await writer.stop()
