"""Settings for every journeymap service: a TOML file, then `JOURNEYMAP_*` variables.

The file (`JOURNEYMAP_CONFIG`, or `--config`) holds the stage model, the inactivity
window and the rule thresholds; environment variables override any of it. Defaults
are safe for the embedded mode: a local PostgreSQL under the data folder, the
PostgreSQL event log, loopback only. Settings are built once in a composition root
and passed down; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shared.domain.alerts import Severity
from shared.domain.friction.config import FrictionRules
from shared.domain.stages import (
    DEFAULT_ERROR_TYPES,
    DEFAULT_STAGE_TYPES,
    DEFAULT_STAGES,
    DEFAULT_SUPPORT_CONTACT_TYPES,
    StageCatalogue,
)

CONFIG_FILE_VARIABLE = "JOURNEYMAP_CONFIG"


class StageModel(BaseModel):
    """The stage catalogue: ordered stages, their touchpoint types, and the special types."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_STAGES), min_length=1)
    types: dict[str, list[str]] = Field(
        default_factory=lambda: {stage: list(t) for stage, t in DEFAULT_STAGE_TYPES.items()}
    )
    conversion_type: str = "purchase"
    repeat_conversion_type: str = "repeat_purchase"
    error_types: list[str] = Field(default_factory=lambda: list(DEFAULT_ERROR_TYPES))
    support_contact_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SUPPORT_CONTACT_TYPES)
    )
    # Impression type -> click type, for click-through rates (same channel).
    click_through: dict[str, str] = Field(
        default_factory=lambda: {
            "ad_impression": "ad_click",
            "social_impression": "social_click",
            "email_open": "email_click",
        }
    )

    @model_validator(mode="after")
    def _valid_catalogue(self) -> Self:
        self.catalogue()  # raises ValueError, with the reason, for an inconsistent model
        if not any(self.conversion_type in types for types in self.types.values()):
            raise ValueError(f"conversion_type {self.conversion_type!r} is in no stage")
        return self

    def catalogue(self) -> StageCatalogue:
        return StageCatalogue(
            stages=tuple(self.stages),
            stage_types={stage: tuple(types) for stage, types in self.types.items()},
            conversion_type=self.conversion_type,
            repeat_conversion_type=self.repeat_conversion_type,
            error_types=frozenset(self.error_types),
            support_contact_types=frozenset(self.support_contact_types),
        )


class NotifierSettings(BaseModel):
    """One place alerts are delivered to. Several may be configured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    kind: Literal["webhook", "slack", "pagerduty", "alertmanager"]
    url: str
    min_severity: Severity = Severity.WARNING
    # webhook: HMAC-SHA256 key for the X-Journeymap-Signature header.
    secret: SecretStr | None = None
    # pagerduty: the Events API v2 integration key.
    routing_key: SecretStr | None = None
    timeout_seconds: float = Field(default=5.0, gt=0)


class HttpLimits(BaseModel):
    """What one client may make the server hold (`JOURNEYMAP_HTTP__*`).

    `max_connections` is enforced twice: a connection accepted past it is closed at
    once, before anything is read from it; and uvicorn's `limit_concurrency` answers
    503 while more than that many requests are still running (handlers whose clients
    left).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Request line plus headers; over it: 431, and the connection is closed.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    # From the connection's start, or from the end of the previous response on a
    # keep-alive connection, to the end of the headers. Past it: 408 if part of a
    # request came (else nothing), and the connection is closed.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # From the end of the headers to the end of the body (our largest is 500 KB).
    # Past it: 408 unless the response has started, and the connection is closed.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Open connections at once.
    max_connections: int = Field(default=1000, ge=1)
    # An idle keep-alive connection is closed after this (uvicorn's timeout_keep_alive).
    keep_alive_seconds: int = Field(default=5, ge=1)


class Settings(BaseSettings):
    # Unknown keys are refused (a typo in the file must not pass unnoticed); unknown
    # environment variables are never read, so they cannot be refused.
    model_config = SettingsConfigDict(
        env_prefix="JOURNEYMAP_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the configuration file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    # Where state lives. Unset: `journeymap up` starts a PostgreSQL under data_dir.
    database_url: str | None = None
    data_dir: Path = Path(".journeymap")
    db_pool_size: int = Field(default=10, ge=1)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Limits per HTTP client: header size, timeouts, connections (JOURNEYMAP_HTTP__*).
    http: HttpLimits = Field(default_factory=HttpLimits)

    # Static keys; where unset, `journeymap up` generates them.
    write_key: SecretStr | None = None
    read_key: SecretStr | None = None
    # Acknowledging and resolving alerts needs this key (scope `alerts`).
    alerts_key: SecretStr | None = None
    # Browser origins the configured write key may send from (CORS); none by default.
    write_key_origins: list[str] = Field(default_factory=list)
    # Where people reach the API; alerts link to maps under it.
    public_url: str | None = None

    log: Literal["postgres", "kafka"] = "postgres"
    # Most events the log writer appends in one transaction (group commit).
    log_append_batch_max: int = Field(default=5000, ge=1)

    # Distributed mode (log = kafka).
    kafka_bootstrap: str = "localhost:9092"
    kafka_topic: str = "touchpoints"
    kafka_dlq_topic: str = "touchpoints.dlq"
    # Used when journeymap creates a missing topic; existing topics are not changed.
    kafka_partitions: int = Field(default=12, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    # Ingest answers 503 when Kafka has not acknowledged an append within this time.
    kafka_send_timeout: float = Field(default=1.5, gt=0)
    # Most events waiting for Kafka in one ingest process; past it, 503 at once.
    kafka_max_pending: int = Field(default=50_000, ge=1)
    kafka_linger_ms: int = Field(default=5, ge=0)
    kafka_compression: Literal["lz4", "gzip", "snappy", "zstd", "none"] = "lz4"
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    # Longest a batch may take before the group counts the aggregator as gone.
    kafka_max_poll_interval_ms: int = Field(default=300_000, ge=1000)
    kafka_request_timeout_ms: int = Field(default=30_000, ge=1000)
    # Every client's id starts with this (then -ingest, -aggregator, -admin, -dead-letters).
    kafka_client_id: str = Field(default="journeymap", min_length=1)
    # Idempotent producers need acks=all; a broker that cannot hand out producer ids
    # needs idempotence off.
    kafka_enable_idempotence: bool = True
    kafka_acks: Literal["all", "1", "0"] = "all"
    # "never" on managed clusters that deny topic creation: the topics must exist.
    kafka_create_topics: Literal["auto", "never"] = "auto"
    # Topic configuration used when journeymap creates a topic, e.g.
    # {"retention.ms": "604800000", "min.insync.replicas": "2"}.
    kafka_topic_config: dict[str, str] = Field(default_factory=dict)
    # How every client connects (producers, consumer, admin, dead letters).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # TLS: the CA that signed the brokers' certificates (the system's when unset), and
    # for mutual TLS this client's certificate and key.
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True

    consumer_group: str = "journeymap-aggregator"
    aggregator_batch_max: int = Field(default=5000, ge=1)
    # How long an idle aggregator waits for new events before polling again.
    aggregator_idle_seconds: float = Field(default=0.05, gt=0)
    # Customers whose map states stay in memory between batches (0: none). A few KB each.
    aggregator_hot_customers: int = Field(default=10_000, ge=0)

    # The stage catalogue (`[stage_model]` in the configuration file).
    stage_model: StageModel = Field(default_factory=StageModel)
    # A journey with no touchpoint for this long is over: abandoned unless it converted.
    # The next touchpoint starts a new journey instance.
    inactivity_window: timedelta = timedelta(days=30)
    # Events whose corrected time is further ahead of the server clock are refused.
    max_future_skew: timedelta = timedelta(days=1)
    # Events whose corrected time is earlier are refused (a clock error, not history).
    earliest_event_time: AwareDatetime = datetime(2000, 1, 1, tzinfo=UTC)
    # Deepest nesting of objects and lists in an event's properties.
    max_property_depth: int = Field(default=32, ge=1, le=200)
    max_batch_events: int = Field(default=2500, ge=1)
    max_event_bytes: int = Field(default=32 * 1024, ge=256)
    max_request_bytes: int = Field(default=500 * 1024, ge=1024)
    # Segment event names to touchpoint types, on top of the built-in e-commerce and email
    # names, e.g. {"Signed Up": "loyalty_joined"}.
    segment_event_map: dict[str, str] = Field(default_factory=dict)
    # Per write key unless the key sets its own: a token bucket of events.
    rate_limit_per_second: float = Field(default=10_000.0, gt=0)
    rate_limit_burst: int = Field(default=20_000, ge=1)
    # The rejections store (GET /v1/rejections) keeps refusals this long, at most this
    # many per key, each with at most this much of its payload (credentials masked).
    rejections_max_age: timedelta = timedelta(days=7)
    rejections_max_per_key: int = Field(default=10_000, ge=1)
    rejections_payload_bytes: int = Field(default=4096, ge=0)

    # Friction rules: JOURNEYMAP_RULES__CHECKOUT_ABANDON_AFTER=PT30M and so on.
    rules: FrictionRules = FrictionRules()
    # JSON list, e.g. [{"name": "ops", "kind": "webhook", "url": "...", "secret": "..."}]
    notifiers: list[NotifierSettings] = Field(default_factory=list)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_seconds: float = Field(default=1.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=300.0, gt=0)
    # Alertmanager forgets firing alerts that are not re-sent; this is the re-send period.
    alertmanager_resend_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _kafka_connection_is_complete(self) -> Self:
        problems = []
        if self.kafka_security_protocol.startswith("SASL_"):
            for name in ("kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password"):
                if getattr(self, name) is None:
                    problems.append(f"{name} is required with {self.kafka_security_protocol}")
        for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                problems.append(f"{name}: no file at {path}")
        if self.kafka_enable_idempotence and self.kafka_acks != "all":
            problems.append("kafka_acks must be 'all' while kafka_enable_idempotence is on")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def async_database_url(self) -> str:
        """The database URL with the asyncpg driver, whatever scheme was configured."""
        if self.database_url is None:
            raise ValueError("database_url is not set")
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


class ConfigError(ValueError):
    """The configuration file or environment is refused; the message names each key."""


def load_settings() -> Settings:
    """Settings from the configuration file and the environment, checked."""
    config_file = os.environ.get(CONFIG_FILE_VARIABLE)
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"configuration file {config_file} does not exist")
    try:
        return Settings()
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"configuration file {config_file} is not valid TOML: {error}") from error
    except ValidationError as error:
        where = f" in {config_file} or the environment" if config_file else ""
        problems = [
            f"  {'.'.join(str(part) for part in e['loc']) or '(top level)'}: {e['msg']}"
            for e in error.errors()
        ]
        raise ConfigError("\n".join([f"bad configuration{where}:", *problems])) from error
