"""Ingest response bodies (documented in the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.schemas.native import TouchpointIn


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the bad field ('event' for the whole event).")
    message: str


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the request (0 for a single event).")
    event_id: str | None = None
    errors: list[FieldError]


class IngestResult(BaseModel):
    """Which events the log durably holds, and which were refused and why."""

    accepted: int
    event_ids: list[str] = Field(description="Ids of the accepted events, in request order.")
    rejected: list[RejectedEvent] = Field(default_factory=list)


class ErrorBody(BaseModel):
    detail: str = Field(description="What is wrong, and what to do about it.")
    code: str = Field(description="A stable machine-readable reason.")
    rejected: list[RejectedEvent] = Field(default_factory=list)


class EventBatch(BaseModel):
    """Several events in one request."""

    batch: list[TouchpointIn]
