"""journeymap's Kafka clients on a secured listener, over the wire: SASL SCRAM over TLS,
mutual TLS, and a wrong password, through KafkaConnection, ensure_topics and
KafkaLogWriter with the real aiokafka client.

The broker is Tansu. It cannot demand any of this itself (no TLS, no client
certificates, no SCRAM user with memory storage: see tests/support/tansu.py), so the
secured listener is tests/support/kafka_gateway.py in front of it, which Tansu
advertises to clients: every connection, bootstrap or not, goes through it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.interface import LogEntry, LogUnavailable
from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_errors import KafkaStartError
from shared.log.kafka_reader import KafkaLogReader
from shared.log.kafka_topics import ensure_topics
from shared.log.kafka_writer import KafkaLogWriter
from tests.support.certificates import Authority, new_authority
from tests.support.kafka_brokers import read_records, topic_partitions
from tests.support.kafka_gateway import KafkaGateway, ScramCredential
from tests.support.kafka_log import unready_because
from tests.support.polling import eventually
from tests.support.tansu import tansu_broker
from tests.support.tcp_proxy import Connector

TOPIC = "touchpoints"
USER = "journeymap-ingest"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return new_authority(tmp_path / "pki")


def client_options(connection: KafkaConnection) -> dict[str, Any]:
    """What an aiokafka client needs besides the address, from journeymap's settings."""
    options = connection.options("readiness")
    del options["bootstrap_servers"]
    return options


@contextlib.asynccontextmanager
async def secured_tansu(
    log_dir: Path,
    template: KafkaConnection,
    *,
    tls: ssl.SSLContext | None = None,
    users: Mapping[str, ScramCredential] | None = None,
) -> AsyncIterator[tuple[KafkaConnection, KafkaGateway]]:
    """Tansu behind a gateway; `template`'s settings (all but its address) are how
    journeymap connects. Yields the connection to the gateway, and the gateway."""
    gateways: list[KafkaGateway] = []

    def gateway(connect: Connector) -> KafkaGateway:
        gateways.append(KafkaGateway(connect, tls=tls, users=users))
        return gateways[-1]

    async with tansu_broker(
        log_dir, front=gateway, client_options=client_options(template)
    ) as tansu:
        yield dataclasses.replace(template, bootstrap=tansu.bootstrap), gateways[0]


def sasl_ssl(mechanism: str, password: str, authority: Authority) -> KafkaConnection:
    return KafkaConnection(
        "unused:0",
        security_protocol="SASL_SSL",
        sasl_mechanism=mechanism,
        sasl_username=USER,
        sasl_password=password,
        ssl_cafile=authority.cafile,
        enable_idempotence=False,  # Tansu hands out no producer ids
    )


async def produce_and_consume(connection: KafkaConnection) -> None:
    """journeymap creates its topic and appends to it; a consumer reads it all back."""
    await ensure_topics(connection, [TOPIC], partitions=2, replication_factor=1)
    assert await topic_partitions(connection, TOPIC) == [0, 1]
    writer = KafkaLogWriter(connection, TOPIC, send_timeout=10)
    await writer.start()
    try:

        async def ready() -> bool | None:
            try:
                await writer.check_ready()
            except LogUnavailable:
                return None
            return True

        await eventually(ready, within=30)
        entries = [LogEntry(key=f"c{i}".encode(), value=f"event {i}".encode()) for i in range(20)]
        await writer.append(entries)
    finally:
        await writer.stop()
    records = await read_records(connection, TOPIC, len(entries))
    assert sorted(r.value for r in records) == sorted(e.value for e in entries)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_a_client_authenticates_with_scram_over_tls_and_produces_and_consumes(
    tmp_path: Path, authority: Authority, mechanism: str
) -> None:
    users = {USER: ScramCredential.of(mechanism, PASSWORD)}
    async with secured_tansu(
        tmp_path,
        sasl_ssl(mechanism, PASSWORD, authority),
        tls=authority.server_context(),
        users=users,
    ) as (connection, gateway):
        await produce_and_consume(connection)

    assert gateway.refused == []
    assert set(gateway.authenticated) == {USER}
    assert len(gateway.authenticated) >= 3  # admin, producer, consumer: each authenticated


async def test_a_client_authenticates_with_a_client_certificate(
    tmp_path: Path, authority: Authority
) -> None:
    async with secured_tansu(
        tmp_path, mutual_tls(authority), tls=authority.server_context(client_certificates=True)
    ) as (connection, _):
        await produce_and_consume(connection)


def mutual_tls(authority: Authority) -> KafkaConnection:
    """journeymap's settings for a cluster that demands a client certificate."""
    client = authority.client_certificate("journeymap-ingest")
    return KafkaConnection(
        "unused:0",
        security_protocol="SSL",
        ssl_cafile=authority.cafile,
        ssl_certfile=client.certfile,
        ssl_keyfile=client.keyfile,
        enable_idempotence=False,
    )


@pytest.mark.allow_error_logs  # aiokafka logs each connection the listener refuses
@pytest.mark.parametrize("certificate", ["none", "from another authority"])
async def test_a_client_without_an_accepted_certificate_is_refused(
    tmp_path: Path, authority: Authority, certificate: str
) -> None:
    async with secured_tansu(
        tmp_path, mutual_tls(authority), tls=authority.server_context(client_certificates=True)
    ) as (connection, _):
        if certificate == "none":
            refused = KafkaConnection(
                connection.bootstrap,
                security_protocol="SSL",
                ssl_cafile=authority.cafile,
                request_timeout_ms=5000,
            )
        else:
            stranger = new_authority(tmp_path / "other-pki").client_certificate("intruder")
            refused = KafkaConnection(
                connection.bootstrap,
                security_protocol="SSL",
                ssl_cafile=authority.cafile,
                ssl_certfile=stranger.certfile,
                ssl_keyfile=stranger.keyfile,
                request_timeout_ms=5000,
            )
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await ensure_topics(refused, [TOPIC], partitions=1, replication_factor=1)


@pytest.mark.allow_error_logs  # aiokafka logs the refused authentication as an error
async def test_a_wrong_password_fails_with_an_authentication_error(
    tmp_path: Path, authority: Authority, engine: AsyncEngine
) -> None:
    mechanism = "SCRAM-SHA-256"
    users = {USER: ScramCredential.of(mechanism, PASSWORD)}
    async with secured_tansu(
        tmp_path,
        sasl_ssl(mechanism, PASSWORD, authority),
        tls=authority.server_context(),
        users=users,
    ) as (good, gateway):
        wrong = dataclasses.replace(good, sasl_password="wrong password")

        # What a client of aiokafka 0.14 sees: bootstrapping tries every address and
        # raises this, without a cause. The broker's answer is only logged (on the
        # "aiokafka" logger, which journeymap throttles to one line a minute).
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap") as failure:
            await ensure_topics(wrong, [TOPIC], partitions=1, replication_factor=1)
        assert failure.value.__cause__ is None
        assert failure.value.retriable  # so journeymap's retry logic would retry it
        assert len(gateway.refused) == 1

        # One connection, as aiokafka makes it, raises the broker's answer itself.
        host, port = wrong.bootstrap.split(":")
        options = wrong.options("probe")
        for name in ("bootstrap_servers", "client_id", "request_timeout_ms"):
            del options[name]
        with pytest.raises(SaslAuthenticationFailed) as refused:
            await create_conn(host, int(port), **options)
        assert str(refused.value) == (
            "[Error 58] SaslAuthenticationFailed: Authentication failed during "
            "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
        )
        assert not refused.value.retriable
        assert (
            gateway.refused
            == [
                "Authentication failed during authentication due to invalid credentials "
                "with SASL mechanism SCRAM-SHA-256"
            ]
            * 2
        )

        # journeymap asks that one connection, and names the settings to look at. The
        # aggregator does not start; ingest keeps trying (each try one more refused
        # authentication) and its readiness says why.
        reader = KafkaLogReader(wrong, TOPIC, "g", engine)
        with pytest.raises(KafkaStartError, match="JOURNEYMAP_KAFKA_SASL_PASSWORD"):
            await reader.start()
        writer = KafkaLogWriter(wrong, TOPIC)
        await writer.start()
        try:
            reason = await unready_because(writer, "refused the credentials")
            assert "JOURNEYMAP_KAFKA_SASL_PASSWORD" in reason

            async def tried_again() -> bool | None:
                return len(gateway.refused) >= 6 or None

            await eventually(tried_again, within=60)
        finally:
            await writer.stop()
        assert gateway.authenticated == [USER] * len(gateway.authenticated)
