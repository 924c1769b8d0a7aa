"""Ingest response bodies (documented in the OpenAPI schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.schemas.native import TouchpointIn
from shared.web.problems import FieldError, Problem


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the request (0 for a single event).")
    event_id: str | None = None
    errors: list[FieldError]


class IngestResult(BaseModel):
    """Which events the log durably holds, and which were refused and why."""

    accepted: int
    event_ids: list[str] = Field(description="Ids of the accepted events, in request order.")
    rejected: list[RejectedEvent] = Field(default_factory=list)


class IngestProblem(Problem):
    """A refused request; nothing in it was accepted."""

    rejected: list[RejectedEvent] = Field(
        default_factory=list, description="Each refused event, when events were refused."
    )


class SegmentProblem(IngestProblem):
    """A refused request, also in the shape Segment's clients read."""

    success: Literal[False] = False
    message: str = Field(description="The same as `detail`.")


class EventBatch(BaseModel):
    """Several events in one request."""

    batch: list[TouchpointIn]
