"""Support systems: POST /v1/support/interactions and POST /v1/surveys."""

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.ingest.body import parse_json, read_body
from services.ingest.context import IngestContext
from services.ingest.convert import interaction_event, survey_event
from services.ingest.errors import RequestRefused
from services.ingest.flow import IngestFlow
from services.ingest.models import IngestResult
from services.ingest.responses import native_error, native_result
from services.ingest.routes.events import (
    BEARER_HOW,
    COMMON_ERRORS,
    items_of,
    native_door,
)
from shared.schemas.support import SupportInteractionIn, SurveyIn
from shared.web.auth import Principal, bearer_token


class InteractionBatch(BaseModel):
    batch: list[SupportInteractionIn]


class SurveyBatch(BaseModel):
    batch: list[SurveyIn]


DOCUMENTED_BODIES = (SupportInteractionIn, InteractionBatch, SurveyIn, SurveyBatch)


def support_router(ctx: IngestContext) -> APIRouter:
    router = APIRouter(tags=["support"])
    flow = IngestFlow(ctx)

    async def handle(request: Request, endpoint: str, convert: Any) -> JSONResponse:
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
            body = await read_body(request, ctx.settings.max_request_bytes)
            accepted = await flow.submit(
                principal,
                endpoint,
                items_of(parse_json(body)),
                partial(
                    convert,
                    received_at=ctx.clock.now(),
                    source=principal.key_name,
                    time_bounds=ctx.time_bounds,
                ),
            )
        except RequestRefused as refusal:
            refusal = await flow.refused(principal, endpoint, refusal, body)
            return native_error(refusal, origin if principal else None)
        return native_result(accepted, origin)

    responses: dict[int | str, dict[str, Any]] = {
        207: {"model": IngestResult, "description": "Some accepted, some refused"},
        **COMMON_ERRORS,
    }

    @router.post(
        "/v1/support/interactions",
        status_code=202,
        response_model=IngestResult,
        summary="A ticket, chat, call, forum post or return (or a batch of them)",
        responses=responses,
        openapi_extra=native_door("SupportInteractionIn", "InteractionBatch"),
    )
    async def post_interactions(request: Request) -> JSONResponse:
        return await handle(request, "support/interactions", interaction_event)

    @router.post(
        "/v1/surveys",
        status_code=202,
        response_model=IngestResult,
        summary="An NPS or CSAT answer with its comment (or a batch of them)",
        responses=responses,
        openapi_extra=native_door("SurveyIn", "SurveyBatch"),
    )
    async def post_surveys(request: Request) -> JSONResponse:
        return await handle(request, "surveys", survey_event)

    return router
