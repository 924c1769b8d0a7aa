"""Run an Aggregator as a background task: start, stop gracefully, report if it died."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from services.aggregator.consumer import Aggregator

logger = logging.getLogger(__name__)

FatalHandler = Callable[[BaseException], None]


class AggregatorRunner:
    def __init__(self, aggregator: Aggregator, on_fatal: FatalHandler | None = None) -> None:
        self._aggregator = aggregator
        self._on_fatal = on_fatal
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._aggregator.run(self._stop), name="aggregator")
        self._task.add_done_callback(self._finished)

    async def stop(self) -> None:
        """Finish the batch in hand, then stop."""
        if self._task is None:
            return
        self._stop.set()
        with contextlib.suppress(Exception):
            await self._task
        self._task = None

    async def check_alive(self) -> None:
        """Readiness check: raise unless the aggregator is running and reads every
        partition it owns."""
        if self._task is None or self._task.done():
            raise RuntimeError("the aggregator is not running")
        self._aggregator.check_offsets()

    def _finished(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or (error := task.exception()) is None:
            return
        logger.critical("the aggregator stopped: %r", error, exc_info=error)
        if self._on_fatal is not None:
            self._on_fatal(error)
