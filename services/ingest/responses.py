"""How each ingest door answers: the native JSON shape, or Segment's."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from services.ingest.errors import RequestRefused
from services.ingest.flow import Accepted
from services.ingest.models import ErrorBody, IngestResult
from services.ingest.throttle import rate_headers


def _respond(body: Any, status: int, headers: dict[str, str], origin: str | None) -> JSONResponse:
    response = JSONResponse(body, status_code=status, headers=headers)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def native_result(accepted: Accepted, origin: str | None) -> JSONResponse:
    result = IngestResult(
        accepted=len(accepted.events),
        event_ids=[e.event_id for e in accepted.events],
        rejected=accepted.rejected,
    )
    status = 207 if accepted.rejected else 202
    return _respond(result.model_dump(mode="json"), status, rate_headers(accepted.rate), origin)


def native_error(refusal: RequestRefused, origin: str | None) -> JSONResponse:
    body = ErrorBody(detail=refusal.message, code=refusal.code, rejected=refusal.rejected)
    return _respond(body.model_dump(mode="json"), refusal.status, refusal.headers, origin)


def segment_result(accepted: Accepted, origin: str | None) -> JSONResponse:
    """200 and `{"success": true}`, as Segment's clients expect; refused items listed."""
    body: dict[str, Any] = {"success": True}
    if accepted.rejected:
        body["rejected"] = [r.model_dump(mode="json") for r in accepted.rejected]
    return _respond(body, 200, rate_headers(accepted.rate), origin)


def segment_error(refusal: RequestRefused, origin: str | None) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "code": refusal.code, "message": refusal.message}
    if refusal.rejected:
        body["rejected"] = [r.model_dump(mode="json") for r in refusal.rejected]
    return _respond(body, refusal.status, refusal.headers, origin)
