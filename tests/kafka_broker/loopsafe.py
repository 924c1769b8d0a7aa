"""Run a synchronous method on its object's event loop when called from another thread.

The broker's state is owned by the event loop it was started on. Methods
decorated with :func:`on_owner_loop` execute directly when called on that
loop's thread (or when no loop is running), and otherwise are marshalled onto
the loop with ``call_soon_threadsafe`` and waited for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")
_CROSS_THREAD_TIMEOUT_S = 30.0


class LoopOwned:
    """Mixin remembering the loop (and thread) that owns an object's state."""

    _owner_loop: asyncio.AbstractEventLoop | None = None
    _owner_thread: int | None = None

    def _bind_to_running_loop(self) -> None:
        self._owner_loop = asyncio.get_running_loop()
        self._owner_thread = threading.get_ident()

    def _needs_marshal(self) -> bool:
        loop = self._owner_loop
        return (
            loop is not None
            and loop.is_running()
            and not loop.is_closed()
            and threading.get_ident() != self._owner_thread
        )


_Owner = TypeVar("_Owner", bound=LoopOwned)


def on_owner_loop(
    method: Callable[Concatenate[_Owner, _P], _R],
) -> Callable[Concatenate[_Owner, _P], _R]:
    @functools.wraps(method)
    def wrapper(owner: _Owner, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not owner._needs_marshal():
            return method(owner, *args, **kwargs)
        loop = owner._owner_loop
        assert loop is not None
        result: concurrent.futures.Future[_R] = concurrent.futures.Future()

        def run() -> None:
            if not result.set_running_or_notify_cancel():
                return
            try:
                result.set_result(method(owner, *args, **kwargs))
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return result.result(timeout=_CROSS_THREAD_TIMEOUT_S)

    return wrapper
