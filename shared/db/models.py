"""Table rows (SQLAlchemy 2.0). Separate from the wire schemas and the domain values."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }


class EventLogRecord(Base):
    """The embedded event log. Positions are contiguous and become visible in order."""

    __tablename__ = "event_log"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Bytes, as a Kafka key: whatever a client sends as an id, the log can hold it.
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    appended_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EventLogHead(Base):
    """One row holding the last assigned log position; its row lock orders the writers."""

    __tablename__ = "event_log_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger)


class ConsumerOffset(Base):
    """The last log offset whose events are in the maps, stored with the maps."""

    __tablename__ = "consumer_offsets"

    group_id: Mapped[str] = mapped_column(Text, primary_key=True)
    topic: Mapped[str] = mapped_column(Text, primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_offset: Mapped[int] = mapped_column(BigInteger)
    # A digest of the record at last_offset (shared/log/offset_check.py), when known.
    last_digest: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The partition's event-time watermark (friction timers fire when it passes them).
    watermark: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TouchpointRow(Base):
    __tablename__ = "touchpoints"

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    # The identity the maps file this touchpoint under: the customer id, or the
    # anonymous id while the visitor is not linked to a customer.
    customer_id: Mapped[str] = mapped_column(Text)
    anonymous_id: Mapped[str | None] = mapped_column(Text)
    # The event named a customer id itself (it was not resolved from an anonymous id).
    identified: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    type: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    product_id: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text)
    sentiment: Mapped[float | None] = mapped_column(Double)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    # Unconstrained numeric keeps the scale the client sent, so sums stay exact.
    revenue: Mapped[Decimal | None] = mapped_column(Numeric())
    properties: Mapped[dict[str, Any]]

    __table_args__ = (
        Index("ix_touchpoints_customer_product_time", "customer_id", "product_id", "occurred_at"),
        Index("ix_touchpoints_customer_time", "customer_id", "occurred_at"),
        Index("ix_touchpoints_anonymous", "anonymous_id"),
        # The console's latest touchpoints and events per minute.
        Index("ix_touchpoints_received", "received_at"),
        # The friction rules' evidence (a customer's events of some types in a window of
        # time) and the experience map's support timeline.
        Index("ix_touchpoints_customer_type_time", "customer_id", "type", "occurred_at"),
        # The experience map's sentiment curve, latest first.
        Index(
            "ix_touchpoints_customer_sentiment",
            "customer_id",
            "occurred_at",
            postgresql_where=text("sentiment IS NOT NULL"),
        ),
    )


class JourneyStepRow(Base):
    """A touchpoint as placed on a journey instance, in the journey's order; the journey
    row holds only a summary, so its cost does not grow with the journey."""

    __tablename__ = "journey_steps"

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    product_id: Mapped[str] = mapped_column(Text, primary_key=True)
    instance: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(Text)
    # The effective type: a purchase after conversion is a repeat purchase.
    type: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    # The journey's stage once this step was placed (null before the journey started).
    stage: Mapped[str | None] = mapped_column(Text)
    revisit: Mapped[bool] = mapped_column(Boolean)
    sentiment: Mapped[float | None] = mapped_column(Double)


class JourneyRow(Base):
    """One journey instance; the funnel is computed from these columns."""

    __tablename__ = "journeys"

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    product_id: Mapped[str] = mapped_column(Text, primary_key=True)
    instance: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stage: Mapped[str | None] = mapped_column(Text)
    stage_rank: Mapped[int | None] = mapped_column(SmallInteger)
    # By stage rank: seconds from the stage the journey was in before (null where none).
    stage_seconds: Mapped[list[float | None]] = mapped_column(ARRAY(Double))
    started_at: Mapped[datetime | None]
    converted_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]
    first_channel: Mapped[str | None] = mapped_column(Text)
    last_type: Mapped[str | None] = mapped_column(Text)
    last_channel: Mapped[str | None] = mapped_column(Text)
    state: Mapped[dict[str, Any]]
    # Bumped on every change; the API derives ETags from it.
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        # Covers the funnel's columns, so the funnel is an index-only scan.
        Index(
            "ix_journeys_product_started",
            "product_id",
            "started_at",
            postgresql_include=[
                "stage_rank",
                "first_channel",
                "abandoned_at",
                "converted_at",
                "stage_seconds",
                "last_type",
                "last_channel",
            ],
        ),
    )


class JourneyTimeoutRow(Base):
    """When the latest journey of a customer and product is abandoned if nothing comes."""

    __tablename__ = "journey_timeouts"

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    product_id: Mapped[str] = mapped_column(Text, primary_key=True)
    instance: Mapped[int] = mapped_column(Integer)
    partition: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]

    __table_args__ = (Index("ix_journey_timeouts_partition_due", "partition", "due_at"),)


class TouchStatsRow(Base):
    """Per product, journey start day, touchpoint type and channel: summed contributions."""

    __tablename__ = "touch_stats"

    product_id: Mapped[str] = mapped_column(Text, primary_key=True)
    cohort_day: Mapped[date] = mapped_column(Date, primary_key=True)
    type: Mapped[str] = mapped_column(Text, primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    journeys: Mapped[int] = mapped_column(BigInteger)
    touches: Mapped[int] = mapped_column(BigInteger)
    converted_after: Mapped[int] = mapped_column(BigInteger)
    bounced: Mapped[int] = mapped_column(BigInteger)
    sentiment_micros: Mapped[int] = mapped_column(BigInteger)
    sentiment_count: Mapped[int] = mapped_column(BigInteger)


class HotspotStatsRow(Base):
    """Per day of occurrence, product, touchpoint type and channel: experience figures."""

    __tablename__ = "hotspot_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[str] = mapped_column(Text, primary_key=True)  # "" for none
    type: Mapped[str] = mapped_column(Text, primary_key=True)
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    touches: Mapped[int] = mapped_column(BigInteger)
    sentiment_micros: Mapped[int] = mapped_column(BigInteger)
    sentiment_count: Mapped[int] = mapped_column(BigInteger)
    negative: Mapped[int] = mapped_column(BigInteger)
    promoters: Mapped[int] = mapped_column(BigInteger)
    passives: Mapped[int] = mapped_column(BigInteger)
    detractors: Mapped[int] = mapped_column(BigInteger)
    csat_total: Mapped[int] = mapped_column(BigInteger)
    csat_count: Mapped[int] = mapped_column(BigInteger)
    alerts: Mapped[int] = mapped_column(BigInteger)


class DataVersionRow(Base):
    """Change counters the API turns into ETags: one per product, one for hotspots."""

    __tablename__ = "data_versions"

    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class ExperienceRow(Base):
    __tablename__ = "experiences"

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    touchpoint_count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    state: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DeadLetter(Base):
    """A record the aggregator could not use, kept with the reason instead of being lost."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    topic: Mapped[str] = mapped_column(Text)
    log_partition: Mapped[int] = mapped_column(Integer)
    log_offset: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class FrictionStateRow(Base):
    """What the friction rules remember about a customer (recent contacts, progress)."""

    __tablename__ = "friction_state"

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[dict[str, Any]]


class TimerRow(Base):
    """A pending friction timer, written in the transaction of the state that armed it."""

    __tablename__ = "timers"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    partition: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    rule: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(Text)
    product_id: Mapped[str | None] = mapped_column(Text)
    touchpoints: Mapped[list[str]] = mapped_column(JSONB)
    detail: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_timers_partition_due", "partition", "due_at"),
        Index("ix_timers_customer", "customer_id"),
    )


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text)
    scope: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    product_id: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    occurrences: Mapped[int] = mapped_column(Integer)
    touchpoints: Mapped[list[str]] = mapped_column(JSONB)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    suppressed: Mapped[int] = mapped_column(Integer)
    backfill: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        # At most one open or acknowledged alert per dedup key.
        Index(
            "ux_alerts_active_key",
            "dedup_key",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
        ),
        Index(
            "ix_alerts_active_rule",
            "rule",
            postgresql_where=text("status <> 'resolved'"),
        ),
        Index("ix_alerts_key_resolved", "dedup_key", "resolved_at"),
        Index("ix_alerts_last_seen", "last_seen_at", "id"),
        Index("ix_alerts_customer", "customer_id"),
        Index("ix_alerts_product", "product_id"),
    )


class RuleFiringRow(Base):
    """One rule firing for one customer of a product: counted for systemic friction."""

    __tablename__ = "rule_firings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rule: Mapped[str] = mapped_column(Text)
    product_id: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]

    __table_args__ = (Index("ix_rule_firings_rule_product_at", "rule", "product_id", "at"),)


class AlertActionRow(Base):
    """A person's acknowledge or resolve of an alert, with their note: its history."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class AlertEventRow(Base):
    """The outbox: each alert change, written in the transaction that made it."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"))
    change: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DeliveryRow(Base):
    """One alert change to deliver to one notifier, retried with backoff until done."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alert_events.id"))
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"))
    notifier: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_alert", "alert_id"),
    )


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deliveries.id"))
    attempted_at: Mapped[datetime]
    duration_ms: Mapped[float] = mapped_column(Double)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id"),)


class ApiKeyRow(Base):
    """An API key, stored as a SHA-256 hash; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    allowed_origins: Mapped[list[str]] = mapped_column(ARRAY(Text))
    rate_per_second: Mapped[float | None] = mapped_column(Double)
    burst: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]


class RejectedEventRow(Base):
    """What ingest refused, and why: nothing sent is silently lost."""

    __tablename__ = "rejected_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text)
    endpoint: Mapped[str] = mapped_column(Text)
    item_index: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_rejected_events_received", "received_at", "id"),
        Index("ix_rejected_events_source", "source", "id"),
    )


class IdentityRow(Base):
    """An anonymous visitor linked to a known customer (identify or alias)."""

    __tablename__ = "identities"

    anonymous_id: Mapped[str] = mapped_column(Text, primary_key=True)
    customer_id: Mapped[str] = mapped_column(Text)
    linked_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_identities_customer", "customer_id"),)
