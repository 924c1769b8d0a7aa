"""Warnings that repeat during an outage, logged once per kind per interval with a count.

A broker that is down fails every send; one line per failure would bury everything
else (thousands of lines a minute). The first of a kind is logged at once; the rest
within the interval are counted and reported with the next one logged after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Kind:
    logged_at: float
    suppressed: int = 0


class ThrottledLog:
    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._kinds: dict[str, _Kind] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = self._clock()
        seen = self._kinds.get(kind)
        if seen is not None and now - seen.logged_at < self._interval:
            seen.suppressed += 1
            return
        if seen is not None and seen.suppressed:
            message += " (and %d more like it in the last %.0f s)"
            args = (*args, seen.suppressed, now - seen.logged_at)
        self._kinds[kind] = _Kind(logged_at=now)
        self._logger.warning(message, *args)
