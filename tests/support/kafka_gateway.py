"""A secured Kafka listener for tests: TLS (optionally demanding a client certificate)
and SASL SCRAM-SHA-256/512 in front of a plaintext broker.

Neither Tansu 0.6.0 nor the project's test broker can demand TLS, client certificates
or SCRAM credentials (see tests/support/tansu.py), so this gateway plays the secured
listener of a cluster, the way a TLS-terminating proxy does: it terminates TLS, runs
the broker's side of the SASL exchange (SaslHandshake v1, SaslAuthenticate v0/v1,
RFC 5802 SCRAM) and then passes bytes through. The broker behind it must advertise
the gateway's address (Tansu's --advertised-listener-url), so that clients reconnect
through it after bootstrapping.

Before a SASL client has authenticated only ApiVersions (passed to the broker),
SaslHandshake and SaslAuthenticate are accepted; any other request closes the
connection, as Kafka does. A failed authentication is answered as Kafka answers it
(SASL_AUTHENTICATION_FAILED, error 58) and the connection is closed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import ssl
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.protocol.admin import (
    SaslAuthenticateResponse_v0,
    SaslAuthenticateResponse_v1,
    SaslHandShakeResponse_v1,
)

from tests.support.tcp_proxy import Connector

SASL_HANDSHAKE = 17
API_VERSIONS = 18
SASL_AUTHENTICATE = 36
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58

HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
ITERATIONS = 4096


@dataclass(frozen=True)
class ScramCredential:
    """What a broker stores for a SCRAM user (RFC 5802): never the password."""

    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def of(cls, mechanism: str, password: str, iterations: int = ITERATIONS) -> ScramCredential:
        name = HASHES[mechanism]
        salt = os.urandom(16)
        salted = hashlib.pbkdf2_hmac(name, password.encode(), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", name)
        return cls(
            mechanism,
            salt,
            iterations,
            hashlib.new(name, client_key).digest(),
            hmac.digest(salted, b"Server Key", name),
        )


class AuthenticationFailed(Exception):
    pass


class ScramServer:
    """The broker's side of one SCRAM exchange: two client messages, two answers."""

    def __init__(self, mechanism: str, credentials: Mapping[str, ScramCredential]) -> None:
        self._hash = HASHES[mechanism]
        self._mechanism = mechanism
        self._credentials = credentials
        self._credential: ScramCredential | None = None
        self._nonce = ""
        self._gs2_header = ""
        self._auth_message = ""
        self.user: str | None = None
        self.done = False

    def _fail(self) -> AuthenticationFailed:
        return AuthenticationFailed(
            "Authentication failed during authentication due to invalid credentials "
            f"with SASL mechanism {self._mechanism}"
        )

    def step(self, message: bytes) -> bytes:
        if self._credential is None:
            return self._first(message.decode())
        return self._final(message.decode())

    def _first(self, client_first: str) -> bytes:
        gs2, _, bare = client_first.partition(",,")
        if gs2 not in ("n", "y") and not gs2.startswith("n,a="):
            raise self._fail()
        fields = dict(part.split("=", 1) for part in bare.split(","))
        user = fields["n"].replace("=2C", ",").replace("=3D", "=")
        credential = self._credentials.get(user)
        if credential is None or credential.mechanism != self._mechanism:
            raise self._fail()
        self.user, self._credential = user, credential
        self._gs2_header = f"{gs2},,"
        self._nonce = fields["r"] + base64.b64encode(os.urandom(18)).decode()
        salt = base64.b64encode(credential.salt).decode()
        server_first = f"r={self._nonce},s={salt},i={credential.iterations}"
        self._auth_message = f"{bare},{server_first}"
        return server_first.encode()

    def _final(self, client_final: str) -> bytes:
        credential = self._credential
        assert credential is not None
        without_proof, _, proof = client_final.rpartition(",p=")
        fields = dict(part.split("=", 1) for part in without_proof.split(","))
        channel_binding = base64.b64encode(self._gs2_header.encode()).decode()
        if fields.get("r") != self._nonce or fields.get("c") != channel_binding:
            raise self._fail()
        auth_message = f"{self._auth_message},{without_proof}".encode()
        signature = hmac.digest(credential.stored_key, auth_message, self._hash)
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        stored_key = hashlib.new(self._hash, client_key).digest()
        if not hmac.compare_digest(stored_key, credential.stored_key):
            raise self._fail()
        self.done = True
        server_signature = hmac.digest(credential.server_key, auth_message, self._hash)
        return b"v=" + base64.b64encode(server_signature)


@dataclass
class _Request:
    size: bytes
    frame: bytes
    api_key: int
    api_version: int
    correlation_id: int
    body: bytes


async def _read_request(reader: asyncio.StreamReader) -> _Request:
    size = await reader.readexactly(4)
    frame = await reader.readexactly(struct.unpack(">i", size)[0])
    api_key, api_version, correlation_id, client_id_length = struct.unpack_from(">hhih", frame)
    body_offset = 10 + max(client_id_length, 0)
    return _Request(size, frame, api_key, api_version, correlation_id, frame[body_offset:])


def _response(correlation_id: int, body: bytes) -> bytes:
    return struct.pack(">ii", 4 + len(body), correlation_id) + body


class KafkaGateway:
    """Listens on 127.0.0.1 (with TLS when `tls` is given) and passes each connection
    to the broker that `connect` reaches, after SASL SCRAM when `users` are given
    ({name: ScramCredential}); from then on, bytes go both ways unchanged."""

    def __init__(
        self,
        connect: Connector,
        *,
        tls: ssl.SSLContext | None = None,
        users: Mapping[str, ScramCredential] | None = None,
    ) -> None:
        self._connect = connect
        self._tls = tls
        self._users = dict(users or {})
        self._server: asyncio.Server | None = None
        self._port = 0
        self._connections: set[asyncio.Task[None]] = set()
        self.authenticated: list[str] = []
        """The users that authenticated, in order (one per connection)."""
        self.refused: list[str] = []
        """Why connections were refused: failed authentications, unexpected requests."""

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self._port, ssl=self._tls, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def __aenter__(self) -> KafkaGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream = await self._connect()
            if self._users and not await self._authenticate(
                reader, writer, upstream_reader, upstream
            ):
                return
            await _pipe_both(reader, writer, upstream_reader, upstream)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # either side went away
        finally:
            self._connections.discard(task)
            for end in (writer, upstream):
                if end is not None:
                    end.transport.abort()

    async def _authenticate(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
    ) -> bool:
        """The SASL exchange; True once the client authenticated."""
        scram: ScramServer | None = None
        while True:
            request = await _read_request(reader)
            if request.api_key == API_VERSIONS:
                upstream.write(request.size + request.frame)
                await upstream.drain()
                size = await upstream_reader.readexactly(4)
                writer.write(size + await upstream_reader.readexactly(struct.unpack(">i", size)[0]))
            elif request.api_key == SASL_HANDSHAKE and request.api_version == 1:
                (length,) = struct.unpack_from(">h", request.body)
                mechanism = request.body[2 : 2 + length].decode()
                known = mechanism in HASHES
                scram = ScramServer(mechanism, self._users) if known else None
                answer = SaslHandShakeResponse_v1(
                    error_code=0 if known else UNSUPPORTED_SASL_MECHANISM,
                    enabled_mechanisms=sorted(HASHES),
                )
                writer.write(_response(request.correlation_id, answer.encode()))
                if not known:
                    self.refused.append(f"unsupported mechanism {mechanism!r}")
                    await writer.drain()
                    return False
            elif request.api_key == SASL_AUTHENTICATE and request.api_version in (0, 1):
                (length,) = struct.unpack_from(">i", request.body)
                token = request.body[4 : 4 + length]
                error, message, answer_bytes = 0, None, b""
                try:
                    if scram is None:
                        raise AuthenticationFailed("SaslAuthenticate before SaslHandshake")
                    answer_bytes = scram.step(token)
                except (AuthenticationFailed, KeyError, ValueError) as failure:
                    error, message = SASL_AUTHENTICATION_FAILED, str(failure)
                    if scram is None:
                        error = ILLEGAL_SASL_STATE
                fields: dict[str, Any] = {
                    "error_code": error,
                    "error_message": message,
                    "sasl_auth_bytes": answer_bytes,
                }
                answer = (
                    SaslAuthenticateResponse_v1(**fields, session_lifetime_ms=0)
                    if request.api_version == 1
                    else SaslAuthenticateResponse_v0(**fields)
                )
                writer.write(_response(request.correlation_id, answer.encode()))
                await writer.drain()
                if error:
                    self.refused.append(message or "authentication failed")
                    return False
                if scram is not None and scram.done:
                    assert scram.user is not None
                    self.authenticated.append(scram.user)
                    return True
            else:
                self.refused.append(
                    f"request {request.api_key} v{request.api_version} before authentication"
                )
                return False
            await writer.drain()


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
) -> None:
    pipes = {
        asyncio.create_task(_pipe(reader, upstream)),
        asyncio.create_task(_pipe(upstream_reader, writer)),
    }
    try:
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
