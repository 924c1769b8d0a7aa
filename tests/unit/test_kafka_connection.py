"""Kafka connection settings: what each client gets, and settings that cannot work."""

from __future__ import annotations

import ssl

import pytest
from pydantic import ValidationError

from shared.config import Settings
from shared.log.kafka_connection import kafka_connection


def test_plaintext_is_the_default_with_idempotent_producers() -> None:
    connection = kafka_connection(Settings(kafka_bootstrap="k:9092"))

    assert connection.options("aggregator") == {
        "bootstrap_servers": "k:9092",
        "client_id": "journeymap-aggregator",
        "security_protocol": "PLAINTEXT",
        "request_timeout_ms": 30_000,
    }
    producer = connection.producer_options("ingest")
    assert (producer["enable_idempotence"], producer["acks"]) == (True, "all")


def test_scram_over_tls_reaches_every_client_and_keeps_the_password_out_of_sight() -> None:
    connection = kafka_connection(
        Settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="jm",
            kafka_sasl_password="s3cret",
            kafka_ssl_check_hostname=False,
            kafka_enable_idempotence=False,
            kafka_acks="1",
        )
    )

    for options in (connection.options("admin"), connection.producer_options("dead-letters")):
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("jm", "s3cret")
        assert isinstance(options["ssl_context"], ssl.SSLContext)
        assert options["ssl_context"].check_hostname is False
    assert connection.producer_options("x")["acks"] == 1
    assert "s3cret" not in repr(connection)
    assert "s3cret" not in connection.describe()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "kafka_sasl_password is required"),
        ({"kafka_ssl_cafile": "/no/such/ca.pem"}, "kafka_ssl_cafile: no file at"),
        ({"kafka_acks": "1"}, "kafka_acks must be 'all' while kafka_enable_idempotence"),
    ],
)
def test_settings_that_cannot_work_are_refused_by_name(
    settings: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**settings)  # type: ignore[arg-type]
