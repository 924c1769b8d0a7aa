"""Which failures the aggregator retries and which stop it."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db.errors import is_transient
from shared.db.offsets import StaleConsumer
from shared.log.interface import LogUnavailable


class _StateError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        (_StateError("08006"), True),  # connection failure
        (_StateError("57P01"), True),  # admin shutdown
        (_StateError("40P01"), True),  # deadlock
        (_StateError("40001"), True),  # serialization failure
        (_StateError("53300"), True),  # too many connections
        (_StateError("23505"), False),  # unique violation: a bug, not a hiccup
        (_StateError("42P01"), False),  # undefined table
        (LogUnavailable("down"), True),
        (StaleConsumer("moved"), True),
        (ValueError("bug"), False),
    ],
)
def test_is_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
