"""Which failures are retried (PostgreSQL, Kafka, our own) and which stop the work."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from shared.db.offsets import StaleConsumer
from shared.log.interface import LogRejected, LogUnavailable
from shared.transient import is_transient


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
        (asyncpg.DataError("invalid input for query argument"), False),
        (_StateError("08006"), True),  # connection failure
        (_StateError("57P01"), True),  # admin shutdown
        (_StateError("40P01"), True),  # deadlock
        (_StateError("40001"), True),  # serialization failure
        (_StateError("53300"), True),  # too many connections
        (_StateError("23505"), False),  # unique violation: a bug, not a hiccup
        (_StateError("42P01"), False),  # undefined table
        (KafkaConnectionError(), True),
        (KafkaTimeoutError(), True),
        (NotLeaderForPartitionError(), True),  # a leader election: the client re-routes
        (NotEnoughReplicasError(), True),
        (UnknownTopicOrPartitionError(), True),
        (MessageSizeTooLargeError(), False),
        (TopicAuthorizationFailedError(), False),
        (LogUnavailable("down"), True),
        (LogRejected("too large"), False),
        (StaleConsumer("moved"), True),
        (ValueError("bug"), False),
    ],
)
def test_is_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
