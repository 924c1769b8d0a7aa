"""Fixtures shared by every test layer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import create_engine
from shared.db.migrate import migrate
from tests.support.postgres import reset_database, scratch_database


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_error_logs: the test expects the services to log errors"
    )


class _ErrorLogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_logged_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test fails when the service logged an internal error, even if it answered."""
    collector = _ErrorLogCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    if request.node.get_closest_marker("allow_error_logs") is None and collector.records:
        messages = "\n".join(collector.format(record) for record in collector.records)
        pytest.fail(f"the services logged errors:\n{messages}")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated database of its own for this test session."""
    with scratch_database() as url:
        migrate(url)
        yield url


@pytest.fixture
async def clean_database(database_url: str) -> str:
    await reset_database(database_url)
    return database_url


@pytest.fixture
async def engine(clean_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(clean_database, pool_size=5)
    try:
        yield engine
    finally:
        await engine.dispose()
