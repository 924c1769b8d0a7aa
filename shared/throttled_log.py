"""Warnings that repeat during an outage, logged once per kind per interval with a count.

A broker that is down fails every send, and the Kafka client itself logs each failed
connection attempt; one line per failure would bury everything else (thousands of
lines a minute). The first of a kind is logged at once; the rest within the interval
are counted and reported with the next one logged after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

SUPPRESSED = " (and %d more like it in the last %.0f s)"


class Throttle:
    """Per kind: whether to log now, and how many were held back since the last one."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._kinds: dict[Hashable, tuple[float, int]] = {}

    def admit(self, kind: Hashable) -> tuple[int, float] | None:
        """None to hold this one back; else (held back since the last, seconds since it)."""
        now = self._clock()
        seen = self._kinds.get(kind)
        if seen is not None and now - seen[0] < self._interval:
            self._kinds[kind] = (seen[0], seen[1] + 1)
            return None
        self._kinds[kind] = (now, 0)
        return (0, 0.0) if seen is None else (seen[1], now - seen[0])


class ThrottledLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._throttle = Throttle(interval, clock)

    def warning(self, kind: str, message: str, *args: object) -> None:
        admitted = self._throttle.admit(kind)
        if admitted is None:
            return
        held, seconds = admitted
        if held:
            message += SUPPRESSED
            args = (*args, held, seconds)
        self._logger.warning(message, *args)


class RepeatFilter(logging.Filter):
    """The same throttle for a library's own records: per logger and message template."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._throttle = Throttle(interval, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        admitted = self._throttle.admit((record.name, record.levelno, str(record.msg)))
        if admitted is None:
            return False
        held, seconds = admitted
        if held and isinstance(record.args, tuple):
            record.msg = f"{record.msg}{SUPPRESSED}"
            record.args = (*record.args, held, seconds)
        return True


# aiokafka logs every failed connection and metadata attempt on these loggers.
KAFKA_CLIENT_LOGGERS = (
    "aiokafka",
    "aiokafka.conn",
    "aiokafka.client",
    "aiokafka.cluster",
    "aiokafka.producer.sender",
    "aiokafka.producer.producer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.consumer.consumer",
)
_kafka_filter = RepeatFilter()


def quiet_repeated_kafka_logs() -> None:
    """Throttle aiokafka's repeated lines (idempotent; loggers keep their filters)."""
    for name in KAFKA_CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if _kafka_filter not in logger.filters:
            logger.addFilter(_kafka_filter)
