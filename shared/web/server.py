"""How journeymap serves an ASGI app: uvicorn with httptools, within limits per client.

uvicorn by itself bounds neither the size of a request's head nor the time a client
may take to send it or its body. A security probe had a 10 MB `Authorization` header
processed, held 2,000 connections with unfinished headers and bodies trickled for
30 s, and grew the server by 250 MB with one unfinished 200 MB header. `HttpLimits`
caps each of these; over a limit the client gets a small problem-details answer (431
or 408) and the connection is closed. What a reverse proxy in front should still add
is in README.md ("HTTP limits").
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from shared.config import HttpLimits
from shared.web.problems import PROBLEM_JSON, problem_body


def server_config(
    app: ASGIApp, *, host: str, port: int, limits: HttpLimits, **uvicorn_options: Any
) -> uvicorn.Config:
    """A uvicorn configuration serving `app` within `limits`.

    `uvicorn_options` go to `uvicorn.Config` as they are (log_config, loop, lifespan);
    the options set here cannot be given again.
    """

    given = limits

    class Protocol(_LimitedHttpToolsProtocol):
        limits = given

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=Protocol,
        ws="none",  # journeymap serves no WebSockets; upgrades are not handled here
        timeout_keep_alive=limits.keep_alive_seconds,
        # The protocol caps connections; this caps running requests (uvicorn's count
        # includes the connection asking, hence + 1).
        limit_concurrency=limits.max_connections + 1,
        **uvicorn_options,
    )


class _CutOffLogger(logging.Logger):
    """uvicorn's logger for a request cut off mid-body: the app is told the client left
    and may raise; uvicorn would log that as an error, but it is expected."""

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


_CUT_OFF_LOGGER = _CutOffLogger("uvicorn.error")
_CUT_OFF_LOGGER.parent = logging.getLogger("uvicorn.error")


class _LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the head size and the timeouts of `limits`.

    The parser is fed at most `max_header_bytes` at a time and, while it reads a head,
    only up to the limit: no more of a head is ever buffered (a pipelined request whose
    head starts in the piece that ends the previous request may reach twice that).
    """

    limits: ClassVar[HttpLimits]

    _in_head = True  # the parser is reading a request head, or waiting for one
    _head_bytes = 0  # bytes of that head fed to the parser
    _head_started = False  # a request's first byte came since the last end of headers
    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)
            transport.close()
        else:
            self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        limit = self.limits.max_header_bytes
        start = 0
        while start < len(data) and not self.transport.is_closing():
            room = limit - self._head_bytes if self._in_head else limit
            if room == 0:
                if self.cycle is not None and not self.cycle.response_complete:
                    # A pipelined head: an answer now would pass for the one under way.
                    self.transport.close()
                    return
                self._refuse(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "headers_too_large",
                    f"request headers exceed {limit} bytes",
                )
                return
            piece = data[start : start + room]
            start += len(piece)
            if self._in_head:
                self._head_bytes += len(piece)
            super().data_received(piece)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True

    def on_headers_complete(self) -> None:
        self._stop_timers()
        self._in_head = self._head_started = False
        super().on_headers_complete()
        self._start_body_timer()

    def on_message_complete(self) -> None:
        self._stop_timers(header=False)
        self._in_head, self._head_bytes = True, 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        waiting = not self.pipeline  # else the next request, already read, starts now
        super().on_response_complete()
        if waiting and not self.transport.is_closing():
            self._start_header_timer()

    def _start_header_timer(self) -> None:
        self._stop_timers(body=False)
        seconds = self.limits.header_timeout_seconds
        self._header_timer = self.loop.call_later(seconds, self._header_timed_out)

    def _start_body_timer(self) -> None:
        seconds = self.limits.body_timeout_seconds
        self._body_timer = self.loop.call_later(seconds, self._body_timed_out)

    def _stop_timers(self, *, header: bool = True, body: bool = True) -> None:
        if header and self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if body and self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if not self._head_started:
            self.transport.close()
            return
        seconds = self.limits.header_timeout_seconds
        detail = f"request headers not received within {seconds:g} s"
        self._refuse(HTTPStatus.REQUEST_TIMEOUT, "request_timeout", detail)

    def _body_timed_out(self) -> None:
        if self.pipeline:  # queued behind a request in flight, reading paused: not its fault
            self._start_body_timer()
            return
        self._body_timer = None
        self.cycle.logger = _CUT_OFF_LOGGER
        if self.cycle.response_started:
            self.transport.close()
            return
        seconds = self.limits.body_timeout_seconds
        detail = f"request body not received within {seconds:g} s"
        self._refuse(HTTPStatus.REQUEST_TIMEOUT, "request_timeout", detail)

    def _refuse(self, status: HTTPStatus, code: str, detail: str) -> None:
        """Answer with problem details, then close the connection."""
        if self.transport.is_closing():
            return
        body = orjson.dumps(problem_body(status.value, code, detail))
        head = [STATUS_LINE[status.value]]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
