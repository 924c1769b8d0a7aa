"""Table rows (SQLAlchemy 2.0). Separate from the wire schemas and the domain values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Double,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    Text,
    func,
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
    key: Mapped[str | None] = mapped_column(Text)
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
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TouchpointRow(Base):
    __tablename__ = "touchpoints"

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    # The identity the maps file this touchpoint under: the customer id, or the
    # anonymous id while the visitor is not linked to a customer.
    customer_id: Mapped[str] = mapped_column(Text)
    anonymous_id: Mapped[str | None] = mapped_column(Text)
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
    )


class JourneyRow(Base):
    __tablename__ = "journeys"

    customer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    product_id: Mapped[str] = mapped_column(Text, primary_key=True)
    stage: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    converted_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    state: Mapped[dict[str, Any]]
    # Bumped on every change; the API derives ETags from it.
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


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
