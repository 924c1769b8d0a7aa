"""POST /v1/events: the native ingest endpoint, one event or a batch."""

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from services.ingest.body import parse_json, read_body
from services.ingest.context import IngestContext
from services.ingest.convert import native_event
from services.ingest.errors import RequestRefused
from services.ingest.flow import IngestFlow
from services.ingest.models import EventBatch, IngestProblem, IngestResult
from services.ingest.responses import native_error, native_result
from shared.schemas.native import TouchpointIn
from shared.web.auth import Principal, bearer_token
from shared.web.openapi import BEARER, needs
from shared.web.problems import declared

BEARER_HOW = "send 'Authorization: Bearer <write key>'"

# Bodies this router parses itself; the app factory adds them to the OpenAPI schema.
DOCUMENTED_BODIES = (TouchpointIn, EventBatch, IngestProblem)

REFUSALS = {
    400: "Body is not JSON, not gzip, or not events",
    401: "Missing or unknown key",
    403: "Key lacks the scope, or the origin is not allowed",
    413: "Over 500 KB (decompressed) or 2,500 events",
    415: "Content type or encoding not accepted",
    422: "No event was valid; each is listed",
    429: "Rate limit reached; see Retry-After",
    503: "The event log is unavailable; retry",
}
COMMON_ERRORS = declared(*REFUSALS, model=IngestProblem, why=REFUSALS)


def native_door(*refs: str) -> dict[str, Any]:
    """`openapi_extra` of a native door: its body is one of `refs`; its key a Bearer token."""
    schema: dict[str, Any] = {"oneOf": [{"$ref": f"#/components/schemas/{r}"} for r in refs]}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        },
        **needs(BEARER),
    }


def items_of(payload: Any) -> list[Any]:
    """One event object, or `{"batch": [...]}`."""
    if isinstance(payload, dict) and "batch" in payload:
        items = payload["batch"]
        if not isinstance(items, list):
            raise RequestRefused(400, "invalid_shape", "'batch' must be a list of events")
        return items
    if isinstance(payload, dict):
        return [payload]
    raise RequestRefused(400, "invalid_shape", 'body must be an event object or {"batch": [...]}')


def events_router(ctx: IngestContext) -> APIRouter:
    router = APIRouter(tags=["ingest"])
    flow = IngestFlow(ctx)

    @router.post(
        "/v1/events",
        summary='Send one touchpoint event, or {"batch": [...]}',
        status_code=status.HTTP_202_ACCEPTED,
        response_model=IngestResult,
        responses={
            207: {"model": IngestResult, "description": "Some events accepted, some refused"},
            **COMMON_ERRORS,
        },
        openapi_extra=native_door("TouchpointIn", "EventBatch"),
    )
    async def post_events(request: Request) -> JSONResponse:
        origin = request.headers.get("origin")
        principal: Principal | None = None
        body = b""
        try:
            principal = await flow.principal(
                bearer_token(request.headers.get("authorization")),
                origin,
                challenge="Bearer",
                how=BEARER_HOW,
            )
            with ctx.metrics.ingest_request_seconds.labels("events").time():
                body = await read_body(request, ctx.settings.max_request_bytes)
                accepted = await flow.submit(
                    principal,
                    "events",
                    items_of(parse_json(body)),
                    partial(
                        native_event,
                        received_at=ctx.clock.now(),
                        source=principal.key_name,
                        time_bounds=ctx.time_bounds,
                    ),
                )
        except RequestRefused as refusal:
            refusal = await flow.refused(principal, "events", refusal, body)
            return native_error(refusal, origin if principal else None)
        return native_result(accepted, origin)

    return router
