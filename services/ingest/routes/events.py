"""POST /v1/events: the native ingest endpoint, one event or a batch."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from services.ingest.context import IngestContext
from services.ingest.models import ErrorBody, EventBatch, IngestResult
from services.ingest.validate import validate_events
from shared.log.interface import LogEntry, LogUnavailable
from shared.schemas.native import TouchpointIn
from shared.web.auth import Principal, require_scope

RETRY_AFTER_SECONDS = "1"


def _error(status_code: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        ErrorBody(detail=detail, **extra).model_dump(mode="json"), status_code=status_code
    )


def events_router(ctx: IngestContext) -> APIRouter:
    router = APIRouter(tags=["ingest"])
    writer_scope = require_scope(ctx.keys, "write")
    metrics = ctx.metrics

    @router.post(
        "/v1/events",
        summary='Send one touchpoint event, or {"batch": [...]}',
        status_code=status.HTTP_202_ACCEPTED,
        response_model=IngestResult,
        responses={
            207: {"model": IngestResult, "description": "Some events accepted, some refused"},
            400: {"model": ErrorBody, "description": "Body is not JSON or not an event"},
            413: {"model": ErrorBody, "description": "Too many events in one request"},
            422: {"model": ErrorBody, "description": "No event was valid"},
            503: {"model": ErrorBody, "description": "The event log is unavailable; retry"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/TouchpointIn"},
                                {"$ref": "#/components/schemas/EventBatch"},
                            ]
                        }
                    }
                },
            }
        },
    )
    async def post_events(
        request: Request, principal: Annotated[Principal, Depends(writer_scope)]
    ) -> JSONResponse:
        with metrics.ingest_request_seconds.labels("events").time():
            return await _ingest(ctx, await request.body(), principal)

    return router


async def _ingest(ctx: IngestContext, body: bytes, principal: Principal) -> JSONResponse:
    metrics = ctx.metrics
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        metrics.ingest_events.labels("rejected", "invalid_json").inc()
        return _error(400, f"body is not valid JSON: {error}")
    if isinstance(payload, dict) and "batch" in payload:
        items = payload["batch"]
        if not isinstance(items, list):
            metrics.ingest_events.labels("rejected", "invalid_shape").inc()
            return _error(400, "'batch' must be a list of events")
    elif isinstance(payload, dict):
        items = [payload]
    else:
        metrics.ingest_events.labels("rejected", "invalid_shape").inc()
        return _error(400, 'body must be an event object or {"batch": [...]}')
    if not items:
        return _error(422, "'batch' is empty: send at least one event")
    limit = ctx.settings.max_batch_events
    if len(items) > limit:
        metrics.ingest_events.labels("rejected", "batch_too_large").inc(len(items))
        return _error(413, f"{len(items)} events in one request; at most {limit} are accepted")

    validated = validate_events(
        items,
        received_at=ctx.clock.now(),
        source=principal.key_name,
        max_future_skew=ctx.settings.max_future_skew,
    )
    if validated.rejected:
        metrics.ingest_events.labels("rejected", "invalid_event").inc(len(validated.rejected))
    if not validated.events:
        return _error(422, "no event was accepted", rejected=validated.rejected)
    try:
        await ctx.writer.append(
            [LogEntry(key=e.identity.encode(), value=e.to_bytes()) for e in validated.events]
        )
    except LogUnavailable as error:
        metrics.ingest_events.labels("rejected", "log_unavailable").inc(len(validated.events))
        response = _error(503, f"{error}; nothing was accepted, retry the whole request")
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    metrics.ingest_events.labels("accepted", "").inc(len(validated.events))
    result = IngestResult(
        accepted=len(validated.events),
        event_ids=[e.event_id for e in validated.events],
        rejected=validated.rejected,
    )
    return JSONResponse(
        result.model_dump(mode="json"), status_code=207 if validated.rejected else 202
    )


# Bodies this router parses itself; the app factory adds them to the OpenAPI schema.
DOCUMENTED_BODIES = (TouchpointIn, EventBatch)
