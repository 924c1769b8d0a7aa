"""BrokerThread: a KafkaTestBroker on its own event loop in a daemon thread.

Useful from synchronous tests, or to keep the broker's work off the event loop
of the code under test. The returned broker's fault and introspection methods
may be called from any thread: they are marshalled onto the broker's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from .server import KafkaTestBroker

_START_TIMEOUT_S = 30.0


class BrokerThread:
    def __init__(self, **broker_kwargs: Any) -> None:
        self._kwargs = broker_kwargs
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._broker: KafkaTestBroker | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()

    def __enter__(self) -> KafkaTestBroker:
        if self._thread is not None:
            raise RuntimeError("BrokerThread is not reentrant")
        self._thread = threading.Thread(target=self._run, name="kafka-test-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise TimeoutError("the test broker did not start")
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("the test broker failed to start") from self._error
        assert self._broker is not None
        return self._broker

    def __exit__(self, *exc: object) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(_START_TIMEOUT_S)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = KafkaTestBroker(**self._kwargs)
        try:
            await broker.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._broker = broker
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await broker.stop()
