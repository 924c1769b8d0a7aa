"""The Segment HTTP tracking API: track, identify, page, screen, group, alias and batch.

Point a Segment SDK (analytics.js, analytics-python, RudderStack, ...) at
journeymap's host with a journeymap write key, and its calls land here unchanged.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.ingest.body import parse_json, read_body
from services.ingest.context import IngestContext
from services.ingest.errors import RequestRefused
from services.ingest.flow import IngestFlow
from services.ingest.models import SegmentProblem
from services.ingest.responses import segment_error, segment_result
from services.ingest.routes.events import REFUSALS
from services.ingest.segment.auth import write_key
from services.ingest.segment.mapping import event_map, known_types, to_log_event
from services.ingest.segment.messages import SegmentBatch, SegmentMessage
from shared.schemas.log_event import LogEvent
from shared.web.auth import Principal
from shared.web.openapi import BASIC, BEARER, needs
from shared.web.problems import declared

CALLS = ("track", "identify", "page", "screen", "group", "alias")
# The one-letter paths analytics.js uses for the same calls.
SHORT_PATHS = {
    "t": "track",
    "i": "identify",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
}
DOCUMENTED_BODIES = (SegmentMessage, SegmentBatch, SegmentProblem)

CHALLENGE = 'Basic realm="journeymap"'
SEGMENT_HOW = "send it as the HTTP Basic user name (empty password), or as 'writeKey' in the body"
SUCCESS = {"description": 'Accepted: `{"success": true}` (refused items listed)'}


def _batch_items(payload: Any) -> tuple[list[Any], dict[str, Any], Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
        raise RequestRefused(400, "invalid_shape", '/v1/batch takes {"batch": [...]}')
    context = payload.get("context")
    return payload["batch"], context if isinstance(context, dict) else {}, payload.get("sentAt")


def _sent_at(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return SegmentMessage.model_validate({"type": "track", "sentAt": value}).sent_at
    except ValidationError as error:
        raise RequestRefused(
            400, "invalid_sent_at", f"sentAt: {error.errors()[0]['msg']}"
        ) from error


def segment_router(ctx: IngestContext) -> APIRouter:
    router = APIRouter(tags=["segment"])
    flow = IngestFlow(ctx)
    names = event_map(ctx.settings.segment_event_map)
    types = known_types(ctx.settings.stage_model.catalogue())

    def converter(
        principal: Principal, context: dict[str, Any], sent_at: datetime | None, call: str | None
    ) -> Callable[[Any], LogEvent]:
        received_at = ctx.clock.now()

        def convert(item: Any) -> LogEvent:
            if call is not None and isinstance(item, dict):
                item = {**item, "type": call}
            return to_log_event(
                SegmentMessage.model_validate(item),
                batch_context=context,
                batch_sent_at=sent_at,
                received_at=received_at,
                source=principal.key_name,
                names=names,
                known_types=types,
                time_bounds=ctx.time_bounds,
            )

        return convert

    async def handle(request: Request, call: str | None) -> JSONResponse:
        origin = request.headers.get("origin")
        endpoint = f"segment/{call or 'batch'}"
        principal: Principal | None = None
        body = b""
        try:
            authorization = request.headers.get("authorization")
            if authorization:  # authenticate before reading the body
                principal = await flow.principal(
                    write_key(authorization, None), origin, challenge=CHALLENGE, how=SEGMENT_HOW
                )
            body = await read_body(request, ctx.settings.max_request_bytes)
            payload = parse_json(body)
            if principal is None:
                principal = await flow.principal(
                    write_key(None, payload), origin, challenge=CHALLENGE, how=SEGMENT_HOW
                )
            if call is None:
                items, context, sent_at = _batch_items(payload)
            elif isinstance(payload, dict):
                items, context, sent_at = [payload], {}, None
            else:
                raise RequestRefused(400, "invalid_shape", f"/v1/{call} takes one JSON object")
            with ctx.metrics.ingest_request_seconds.labels("segment").time():
                accepted = await flow.submit(
                    principal,
                    endpoint,
                    items,
                    converter(principal, context, _sent_at(sent_at), call),
                )
        except RequestRefused as refusal:
            refusal = await flow.refused(principal, endpoint, refusal, body)
            return segment_error(refusal, origin if principal else None)
        return segment_result(accepted, origin)

    def register(path: str, call: str | None, summary: str, body_schema: str) -> None:
        async def endpoint(request: Request) -> JSONResponse:
            return await handle(request, call)

        router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            summary=summary,
            responses={200: SUCCESS, **declared(*REFUSALS, model=SegmentProblem, why=REFUSALS)},
            openapi_extra={
                **needs(BASIC, BEARER),
                "requestBody": {
                    "required": True,
                    "content": {
                        media: {"schema": {"$ref": f"#/components/schemas/{body_schema}"}}
                        for media in ("application/json", "text/plain")
                    },
                },
            },
            include_in_schema=len(path) > len("/v1/x"),
        )

    for call in CALLS:
        register(f"/v1/{call}", call, f"Segment {call} call", "SegmentMessage")
    for short, call in SHORT_PATHS.items():
        register(f"/v1/{short}", call, f"Segment {call} call (analytics.js path)", "SegmentMessage")
    register("/v1/batch", None, "Several Segment calls", "SegmentBatch")
    register("/v1/import", None, "Several Segment calls (alias of /v1/batch)", "SegmentBatch")
    return router
