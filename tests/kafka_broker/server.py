"""KafkaTestBroker: TCP connections, request framing, fault injection, introspection.

Each connection is served by one task that reads a request, handles it, and
writes its response before reading the next one, so responses go out in
request order (as a Kafka broker does: it mutes a connection while a request
is in flight). A long-polling Fetch or a JoinGroup/SyncGroup barrier therefore
blocks only its own connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from dataclasses import dataclass

from aiokafka.protocol.group import MemberAssignment

from .context import BrokerContext
from .dispatch import dispatch
from .errors import ErrorCode
from .groups import GroupCoordinator
from .listener import Listener
from .log import StoredRecord
from .loopsafe import LoopOwned, on_owner_loop
from .producers import ProducerStateTable
from .protocol import (
    MAX_FRAME_BYTES,
    SIZE_PREFIX,
    ProtocolError,
    api_name,
    encode_response,
    parse_header,
)
from .topics import TopicRegistry

log = logging.getLogger(__name__)

_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


@dataclass(eq=False)
class _Connection:
    peer: str
    sock: socket.socket
    task: asyncio.Task[None] | None = None
    writer: asyncio.StreamWriter | None = None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        else:
            self.sock.close()


class KafkaTestBroker(LoopOwned):
    """A single-node Kafka-protocol broker for tests (node id 0)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_create_topics: bool = True,
        default_partitions: int = 1,
        group_min_session_timeout_ms: int = 10,
        group_max_session_timeout_ms: int = 1_800_000,
    ) -> None:
        if default_partitions < 1:
            raise ValueError("default_partitions must be at least 1")
        self._host = host
        topics = TopicRegistry()
        self._ctx = BrokerContext(
            topics=topics,
            producers=ProducerStateTable(),
            groups=GroupCoordinator(
                partition_exists=topics.partition_exists,
                min_session_timeout_ms=group_min_session_timeout_ms,
                max_session_timeout_ms=group_max_session_timeout_ms,
            ),
            auto_create_topics=auto_create_topics,
            default_partitions=default_partitions,
            advertised_host="127.0.0.1" if host in _WILDCARD_HOSTS else host,
        )
        self._listener = Listener(host, port, self._on_accept)
        self._connections: set[_Connection] = set()
        self._response_delay = 0.0
        self._request_counts: Counter[str] = Counter()
        self._accepted = 0
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("broker already started")
        self._bind_to_running_loop()
        self._listener.open()
        self._ctx.advertised_port = self._listener.port
        self._started = True
        log.info("kafka test broker listening on %s", self.bootstrap)

    async def stop(self) -> None:
        self._listener.close()
        tasks = [conn.task for conn in self._connections if conn.task is not None]
        for conn in list(self._connections):
            conn.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._ctx.groups.close()

    async def __aenter__(self) -> KafkaTestBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._listener.port

    @property
    def bootstrap(self) -> str:
        return f"{self._ctx.advertised_host}:{self.port}"

    # -- connections -------------------------------------------------------------------

    def _on_accept(self, sock: socket.socket, peer: object) -> None:
        conn = _Connection(peer=str(peer), sock=sock)
        self._accepted += 1
        self._connections.add(conn)
        conn.task = asyncio.get_running_loop().create_task(self._serve(conn))
        conn.task.add_done_callback(lambda _: self._connections.discard(conn))

    async def _serve(self, conn: _Connection) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn.sock)
        except BaseException:
            conn.sock.close()
            raise
        conn.writer = writer
        try:
            await self._serve_requests(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client went away mid-frame
        except ProtocolError as exc:
            log.warning("closing connection from %s: %s", conn.peer, exc)
        except Exception:
            log.exception("closing connection from %s after an internal error", conn.peer)
        finally:
            writer.close()

    async def _serve_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                prefix = await reader.readexactly(SIZE_PREFIX.size)
            except asyncio.IncompleteReadError:
                return  # orderly close by the client
            (size,) = SIZE_PREFIX.unpack(prefix)
            if not 0 < size <= MAX_FRAME_BYTES:
                raise ProtocolError(f"invalid request size {size}")
            frame = await reader.readexactly(size)
            header = parse_header(frame)
            self._request_counts[api_name(header.api_key)] += 1
            response = await dispatch(self._ctx, header, frame)
            if response is None:
                continue
            if self._response_delay > 0:
                await asyncio.sleep(self._response_delay)
            writer.write(encode_response(header.correlation_id, response))
            await writer.drain()

    # -- faults --------------------------------------------------------------------------

    @on_owner_loop
    def refuse_connections(self, refuse: bool = True, *, keep_open: bool = False) -> None:
        """True: stop listening and drop every connection (with `keep_open`, only refuse
        new ones); False: listen again, same port."""
        if refuse:
            self._listener.close()
            if not keep_open:
                self.drop_connections()
            log.info("refusing connections on port %d", self.port)
        else:
            self._listener.open()
            log.info("accepting connections on port %d again", self.port)

    @on_owner_loop
    def refuse_produce(self, error: ErrorCode | None) -> None:
        """Answer every produce with `error` (None: accept again)."""
        self._ctx.produce_error = error

    @on_owner_loop
    def set_response_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the response delay cannot be negative")
        self._response_delay = float(seconds)

    @on_owner_loop
    def drop_connections(self) -> None:
        """Abruptly close (RST) every open client connection."""
        for conn in list(self._connections):
            conn.abort()
            if conn.task is not None:
                conn.task.cancel()

    # -- topics and records --------------------------------------------------------------

    @on_owner_loop
    def create_topic(self, name: str, partitions: int) -> None:
        """Create a topic; a no-op if it already exists with the same partition count."""
        existing = self._ctx.topics.partitions(name)
        if existing is not None:
            if len(existing) != partitions:
                raise ValueError(f"topic {name!r} already exists with {len(existing)} partitions")
            return
        self._ctx.topics.create(name, partitions)

    @on_owner_loop
    def topic_partitions(self, name: str) -> int:
        logs = self._ctx.topics.partitions(name)
        if logs is None:
            raise KeyError(name)
        return len(logs)

    @on_owner_loop
    def topics(self) -> list[str]:
        return self._ctx.topics.names()

    @on_owner_loop
    def records(self, topic: str, partition: int | None = None) -> list[StoredRecord]:
        """Decoded records in offset order ([] for an unknown topic), all partitions if None."""
        logs = self._ctx.topics.partitions(topic)
        if logs is None:
            return []
        if partition is not None:
            return logs[partition].records()
        return [record for plog in logs for record in plog.records()]

    @on_owner_loop
    def high_watermark(self, topic: str, partition: int) -> int:
        plog = self._ctx.topics.get(topic, partition)
        if plog is None:
            raise KeyError(f"{topic}-{partition}")
        return plog.high_watermark

    # -- groups ----------------------------------------------------------------------------

    @on_owner_loop
    def committed_offset(self, group: str, topic: str, partition: int) -> int | None:
        return self._ctx.groups.committed(group, topic, partition)

    @on_owner_loop
    def group_members(self, group: str) -> list[str]:
        return self._ctx.groups.members(group)

    @on_owner_loop
    def group_generation(self, group: str) -> int:
        return self._ctx.groups.generation(group)

    @on_owner_loop
    def group_state(self, group: str) -> str | None:
        """Kafka's name for the group state (e.g. "Stable"), None for an unknown group."""
        return self._ctx.groups.state(group)

    @on_owner_loop
    def group_leader(self, group: str) -> str | None:
        return self._ctx.groups.leader(group)

    @on_owner_loop
    def group_assignments(self, group: str) -> dict[str, list[tuple[str, int]]]:
        """Consumer-protocol assignments of a Stable group, decoded: member -> [(topic, p)]."""
        decoded: dict[str, list[tuple[str, int]]] = {}
        for member_id, data in self._ctx.groups.assignments(group).items():
            pairs: list[tuple[str, int]] = []
            if data:
                assignment = MemberAssignment.decode(data)
                for topic, partitions in assignment.assignment:
                    pairs.extend((str(topic), int(p)) for p in partitions)
            decoded[member_id] = sorted(pairs)
        return decoded

    # -- diagnostics ---------------------------------------------------------------------

    @on_owner_loop
    def request_counts(self) -> dict[str, int]:
        """Requests received so far, by API name (e.g. {"Produce": 3, "Fetch": 10})."""
        return dict(self._request_counts)

    @on_owner_loop
    def connection_count(self) -> int:
        """Client connections open right now."""
        return len(self._connections)

    @on_owner_loop
    def accepted_connections(self) -> int:
        """Client connections accepted since start (reconnects make this grow)."""
        return self._accepted

    @property
    def listening(self) -> bool:
        return self._listener.listening
