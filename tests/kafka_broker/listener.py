"""A listening socket that can be closed and reopened on the same port synchronously.

Built on a raw non-blocking socket plus ``loop.add_reader`` rather than
``asyncio.Server`` so that both "stop listening" (connects get ECONNREFUSED
immediately) and "listen again" (connects succeed immediately; they queue in
the backlog until accepted) take effect before the call returns.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

_BACKLOG = 128


class Listener:
    def __init__(
        self, host: str, port: int, on_accept: Callable[[socket.socket, object], None]
    ) -> None:
        self._host = host
        self._port = port
        self._on_accept = on_accept
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def listening(self) -> bool:
        return self._sock is not None

    def open(self) -> None:
        """Bind and listen (on the remembered port once one was chosen)."""
        if self._sock is not None:
            return
        loop = asyncio.get_running_loop()
        family, kind, proto, _, address = socket.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(_BACKLOG)
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._accept_ready)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._loop = loop
        self._port = sock.getsockname()[1]

    def close(self) -> None:
        """Stop listening now; queued, not yet accepted connections are reset."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(sock.fileno())
        sock.close()

    def _accept_ready(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                conn, peer = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE, ECONNABORTED: keep listening
                log.warning("accept failed: %s", exc)
                return
            conn.setblocking(False)
            self._on_accept(conn, peer)
            sock = self._sock
