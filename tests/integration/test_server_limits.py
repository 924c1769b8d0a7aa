"""The HTTP server's limits per client, over real sockets: header size, timeouts,
connections. Each test waits for what it expects with a generous deadline; none
asserts that anything happened quickly."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI, Request

from shared.config import CONFIG_FILE_VARIABLE, HttpLimits, Settings
from tests.support.polling import eventually
from tests.support.server import serve

DEADLINE = 20.0
LIMITS = HttpLimits(
    max_header_bytes=4096,
    header_timeout_seconds=1.0,
    body_timeout_seconds=1.0,
    keep_alive_seconds=1,
)

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        # Read as ingest does, so a request cut off mid-body raises in the app.
        length = 0
        async for chunk in request.stream():
            length += len(chunk)
        return {"length": length}

    return app


@contextlib.asynccontextmanager
async def _served(limits: HttpLimits = LIMITS) -> AsyncIterator[tuple[str, int]]:
    async with serve(_app(), limits) as base_url:
        yield "127.0.0.1", int(base_url.rsplit(":", 1)[1])


@contextlib.asynccontextmanager
async def _connected(server: tuple[str, int]) -> AsyncIterator[Stream]:
    reader, writer = await asyncio.open_connection(*server)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (or resets it)."""

    async def read_all() -> bytes:
        received = bytearray()
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                received += chunk
        return bytes(received)

    return await asyncio.wait_for(read_all(), timeout=DEADLINE)


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Send, tolerating a server that already closed the connection."""
    with contextlib.suppress(ConnectionError):
        writer.write(data)
        await writer.drain()


async def _exchange(server: tuple[str, int], request: bytes) -> bytes:
    """One request on a fresh connection; what came back until the server closed it."""
    async with _connected(server) as (reader, writer):
        await _send(writer, request)
        return await _until_closed(reader)


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response on a connection that stays open (Content-Length framed)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=DEADLINE)
    status, headers = _head(head)
    body = await asyncio.wait_for(
        reader.readexactly(int(headers["content-length"])), timeout=DEADLINE
    )
    return status, headers, body


def _head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


def _parsed(response: bytes) -> tuple[int, dict[str, str], Any]:
    """A whole response read until the connection closed."""
    head, separator, body = response.partition(b"\r\n\r\n")
    assert separator, f"no complete response: {response[:200]!r}"
    status, headers = _head(head)
    assert len(body) == int(headers["content-length"])
    return status, headers, json.loads(body)


def _problem(response: bytes, status: int, code: str, detail: str) -> None:
    got_status, headers, body = _parsed(response)
    assert got_status == status
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"] == detail
    assert body["type"] == "about:blank"
    assert set(body) == {"type", "title", "status", "detail", "code"}


def _get_of_size(size: int) -> bytes:
    """A GET /ok whose request line and headers are exactly `size` bytes."""
    bare = b"GET /ok HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Pad: \r\n\r\n"
    head = bare.replace(b"X-Pad: ", b"X-Pad: " + b"a" * (size - len(bare)))
    assert len(head) == size
    return head


async def test_headers_over_the_limit_get_431_and_a_closed_connection() -> None:
    async with _served() as server:
        status, _, body = _parsed(await _exchange(server, _get_of_size(4096)))
        assert (status, body) == (200, {"ok": True})

        response = await _exchange(server, _get_of_size(4097))

    _problem(response, 431, "headers_too_large", "request headers exceed 4096 bytes")
    assert _parsed(response)[2]["title"] == "Request Header Fields Too Large"


async def test_half_a_header_then_silence_gets_408_and_a_closed_connection() -> None:
    async with _served() as server:
        response = await _exchange(server, b"GET /ok HTTP/1.1\r\nHost: test\r\nX-Slow: ab")

    _problem(response, 408, "request_timeout", "request headers not received within 1 s")


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    async with _served() as server:
        assert await _exchange(server, b"") == b""


async def test_a_trickled_body_gets_408_while_a_normal_post_succeeds() -> None:
    async with _served() as server, _connected(server) as (reader, writer):
        await _send(writer, b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 200\r\n\r\n")
        answered = asyncio.create_task(_until_closed(reader))

        body = b"x" * 1000
        normal = b"POST /echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        normal += b"Content-Length: 1000\r\n\r\n" + body
        status, _, echoed = _parsed(await _exchange(server, normal))
        assert (status, echoed) == (200, {"length": 1000})

        # One byte every 0.2 s: the 200 bytes would take 40 s, the limit is 1 s.
        for _ in range(200):
            if answered.done():
                break
            await _send(writer, b"x")
            await asyncio.sleep(0.2)
        response = await answered

    _problem(response, 408, "request_timeout", "request body not received within 1 s")


async def test_an_idle_keep_alive_connection_is_closed() -> None:
    async with _served() as server:
        async with _connected(server) as (reader, writer):
            await _send(writer, b"GET /ok HTTP/1.1\r\nHost: test\r\n\r\n")
            status, headers, _ = await _response(reader)
            assert status == 200
            assert "close" not in headers.get("connection", "")

            assert await _until_closed(reader) == b""

        status, _, body = _parsed(
            await _exchange(server, b"GET /ok HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        )
        assert (status, body) == (200, {"ok": True})


async def test_connections_past_the_limit_are_refused_until_one_closes() -> None:
    patient = HttpLimits(max_connections=2, header_timeout_seconds=60, keep_alive_seconds=60)
    request = b"GET /ok HTTP/1.1\r\nHost: test\r\n\r\n"
    async with _served(patient) as server:
        async with _connected(server) as first, _connected(server) as second:
            for reader, writer in (first, second):  # both accepted and served, kept open
                await _send(writer, request)
                assert (await _response(reader))[0] == 200

            # Closed as soon as accepted, before its request is read.
            assert await _exchange(server, request) == b""

            # Still served on a connection it holds.
            reader, writer = first
            await _send(writer, request)
            assert (await _response(reader))[0] == 200

        async def served_again() -> bytes | None:
            response = await _exchange(
                server, request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
            )
            return response if response.startswith(b"HTTP/1.1 200 ") else None

        await eventually(served_again, within=DEADLINE)


async def test_a_huge_unfinished_header_is_cut_off_at_the_limit() -> None:
    total = 50 * 1024 * 1024
    chunk = b"a" * 65536
    async with _served() as server, _connected(server) as (reader, writer):
        answered = asyncio.create_task(_until_closed(reader))
        await _send(writer, b"GET /ok HTTP/1.1\r\nHost: test\r\nX-Huge: ")
        sent = 0
        while sent < total and not answered.done() and not writer.transport.is_closing():
            try:
                writer.write(chunk)
                await writer.drain()
            except ConnectionError:
                break
            sent += len(chunk)
        response = await answered

    _problem(response, 431, "headers_too_large", "request headers exceed 4096 bytes")
    assert sent < total


def test_http_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_FILE_VARIABLE, raising=False)
    assert Settings(http={"max_header_bytes": 8192}).http.max_header_bytes == 8192

    monkeypatch.setenv("JOURNEYMAP_HTTP__MAX_HEADER_BYTES", "8192")
    settings = Settings()
    assert settings.http.max_header_bytes == 8192
    assert settings.http.header_timeout_seconds == HttpLimits().header_timeout_seconds
