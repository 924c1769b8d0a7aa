"""How every Kafka client of journeymap connects: one set of options for the
producers, the consumer, the admin client and the dead-letter producer, so a secured
cluster (TLS, SASL PLAIN or SCRAM, mutual TLS) is configured once."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    UnknownError,
)
from aiokafka.helpers import create_ssl_context

from shared.config import Settings
from shared.throttled_log import quiet_repeated_kafka_logs

# An idempotent producer's start waits for a producer id; a broker that cannot give
# one out makes it wait for ever.
PRODUCER_START_SECONDS = 15.0


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap: str
    client_id: str = "journeymap"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    ssl_check_hostname: bool = True
    request_timeout_ms: int = 30_000
    enable_idempotence: bool = True
    acks: str = "all"

    def options(self, role: str) -> dict[str, Any]:
        """Keyword arguments for an aiokafka consumer or admin client."""
        quiet_repeated_kafka_logs()
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "client_id": f"{self.client_id}-{role}",
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            context = create_ssl_context(
                cafile=self.ssl_cafile,
                certfile=self.ssl_certfile,
                keyfile=self.ssl_keyfile,
                password=self.ssl_key_password,
            )
            context.check_hostname = self.ssl_check_hostname
            options["ssl_context"] = context
        if self.security_protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options

    def producer_options(self, role: str) -> dict[str, Any]:
        """Keyword arguments for an aiokafka producer: the connection, and durability."""
        return {
            **self.options(role),
            "enable_idempotence": self.enable_idempotence,
            "acks": "all" if self.acks == "all" else int(self.acks),
        }

    async def explain(self, error: BaseException, *, producer: bool = False) -> str:
        """Why a client could not start, in terms of the settings to look at.

        aiokafka reports any failure to reach the brokers as "Unable to bootstrap";
        refused credentials or certificates are only logged. One connection made the
        same way raises the brokers' actual answer."""
        # A producer's start, past the bootstrap, asks for a producer id and nothing else.
        if producer and self.enable_idempotence and isinstance(error, TimeoutError | UnknownError):
            return (
                f"{self.describe()} answered, but gave the idempotent producer no producer id "
                f"({error!r}); if the broker cannot give them out "
                "(some Kafka-compatible brokers, e.g. Tansu), set "
                "JOURNEYMAP_KAFKA_ENABLE_IDEMPOTENCE=false"
            )
        if not isinstance(error, KafkaConnectionError) or self.security_protocol == "PLAINTEXT":
            return f"{error!r} from {self.describe()}"
        options = self.options("probe")
        for name in ("bootstrap_servers", "client_id", "request_timeout_ms"):
            del options[name]
        host, _, port = self.bootstrap.split(",")[0].strip().rpartition(":")
        try:
            connection = await asyncio.wait_for(create_conn(host, int(port), **options), 10)
        except (SaslAuthenticationFailed, AuthenticationFailedError) as refused:
            return (
                f"{self.describe()} refused the credentials ({refused}): check "
                "JOURNEYMAP_KAFKA_SASL_USERNAME, JOURNEYMAP_KAFKA_SASL_PASSWORD and "
                "JOURNEYMAP_KAFKA_SASL_MECHANISM"
            )
        except ssl.SSLError as refused:
            return (
                f"TLS with {self.describe()} failed ({refused}): check "
                "JOURNEYMAP_KAFKA_SSL_CAFILE, JOURNEYMAP_KAFKA_SSL_CERTFILE and "
                "JOURNEYMAP_KAFKA_SSL_KEYFILE"
            )
        except Exception as other:  # unreachable, or anything else: say what it was
            return f"cannot reach {self.describe()}: {other!r}"
        connection.close()
        return f"{error!r} from {self.describe()}"

    def describe(self) -> str:
        """Where and how it connects, for error messages (no secrets)."""
        how = self.security_protocol
        if self.sasl_mechanism and how.startswith("SASL_"):
            how += f" {self.sasl_mechanism} as {self.sasl_username!r}"
        return f"{self.bootstrap} ({how})"


def kafka_connection(settings: Settings) -> KafkaConnection:
    def secret(value: Any) -> str | None:
        return None if value is None else str(value.get_secret_value())

    return KafkaConnection(
        bootstrap=settings.kafka_bootstrap,
        client_id=settings.kafka_client_id,
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_username=settings.kafka_sasl_username,
        sasl_password=secret(settings.kafka_sasl_password),
        ssl_cafile=settings.kafka_ssl_cafile,
        ssl_certfile=settings.kafka_ssl_certfile,
        ssl_keyfile=settings.kafka_ssl_keyfile,
        ssl_key_password=secret(settings.kafka_ssl_key_password),
        ssl_check_hostname=settings.kafka_ssl_check_hostname,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        enable_idempotence=settings.kafka_enable_idempotence,
        acks=settings.kafka_acks,
    )
