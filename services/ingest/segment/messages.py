"""Segment message shapes (track, identify, page, screen, group, alias), as clients send them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

MessageType = Literal["track", "identify", "page", "screen", "group", "alias"]


def _id(value: Any) -> Any:
    """Segment ids may be numbers; they are strings here."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _utc(value: Any) -> Any:
    """Segment timestamps are ISO 8601 in UTC; a missing offset means UTC."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


SegmentId = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=200)] | None, BeforeValidator(_id)
]
SegmentTime = Annotated[datetime | None, BeforeValidator(_utc)]


class SegmentMessage(BaseModel):
    """One Segment call. Unknown fields are kept out of the way, as Segment does."""

    # Fields are Segment's camelCase names on the wire.
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)

    type: MessageType
    message_id: SegmentId = None
    user_id: SegmentId = None
    anonymous_id: SegmentId = None
    previous_id: SegmentId = None
    group_id: SegmentId = None
    event: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: SegmentTime = None
    original_timestamp: SegmentTime = None
    sent_at: SegmentTime = None


class SegmentBatch(BaseModel):
    """POST /v1/batch: several messages sharing a context and a send time."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    batch: list[SegmentMessage]
    context: dict[str, Any] = Field(default_factory=dict)
    sent_at: datetime | None = None
    write_key: str | None = None
