"""How each ingest door answers: the native JSON shape, or Segment's."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from services.ingest.errors import RequestRefused
from services.ingest.flow import Accepted
from services.ingest.models import IngestResult
from services.ingest.throttle import rate_headers
from shared.web.problems import PROBLEM_JSON, problem_body


def _respond(
    body: Any,
    status: int,
    headers: dict[str, str],
    origin: str | None,
    media_type: str = "application/json",
) -> JSONResponse:
    response = JSONResponse(body, status_code=status, headers=headers, media_type=media_type)
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


def _problem(refusal: RequestRefused, **extensions: Any) -> dict[str, Any]:
    rejected = [r.model_dump(mode="json") for r in refusal.rejected]
    return problem_body(
        refusal.status, refusal.code, refusal.message, rejected=rejected, **extensions
    )


def native_error(refusal: RequestRefused, origin: str | None) -> JSONResponse:
    return _respond(_problem(refusal), refusal.status, refusal.headers, origin, PROBLEM_JSON)


def segment_result(accepted: Accepted, origin: str | None) -> JSONResponse:
    """200 and `{"success": true}`, as Segment's clients expect; refused items listed."""
    body: dict[str, Any] = {"success": True}
    if accepted.rejected:
        body["rejected"] = [r.model_dump(mode="json") for r in accepted.rejected]
    return _respond(body, 200, rate_headers(accepted.rate), origin)


def segment_error(refusal: RequestRefused, origin: str | None) -> JSONResponse:
    """Problem details, with the `success` and `message` Segment's clients read."""
    body = _problem(refusal, success=False, message=refusal.message)
    return _respond(body, refusal.status, refusal.headers, origin, PROBLEM_JSON)
