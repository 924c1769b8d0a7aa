"""One error body for every answer that is not a success: RFC 9457 problem details.

`{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "...",
"code": "not_found"}`, as `application/problem+json`. `detail` says what is wrong
and what to do; `code` is stable for programs; `errors` names each request field at
fault. Ingest adds `rejected` (each refused event); the Segment door adds Segment's
`success` and `message`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
# The largest ids and numbers PostgreSQL's bigint and integer columns hold.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1

# The code of a status when the raiser gave none.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the bad field ('event' for the whole event).")
    message: str


class Problem(BaseModel):
    """What went wrong (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str = Field(description="The HTTP status phrase.")
    status: int
    detail: str = Field(description="What is wrong, and what to do about it.")
    code: str = Field(description="A stable machine-readable reason.")
    errors: list[FieldError] = Field(
        default_factory=list, description="Each request field at fault, with the reason."
    )


class ApiProblem(HTTPException):
    """An HTTPException with its own stable code."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, detail, headers)
        self.code = code


def problem_body(status: int, code: str, detail: str, **extensions: Any) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extensions,
    }


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], headers=headers, media_type=PROBLEM_JSON)


def declared(
    *statuses: int, model: type[Problem] = Problem, why: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, with the body as it is sent."""
    reasons = why or {}
    return {
        status: problem_content(reasons.get(status) or HTTPStatus(status).phrase, model)
        for status in statuses
    }


def problem_content(description: str, model: type[Problem] = Problem) -> dict[str, Any]:
    """One declared error response: `model` as problem+json (the app documents the model)."""
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }


def field_errors(errors: Sequence[Any], whole: str = "body") -> list[FieldError]:
    """Pydantic's errors as fields and reasons (`whole` when no field is at fault)."""
    return [
        FieldError(field=".".join(str(part) for part in e["loc"]) or whole, message=e["msg"])
        for e in errors
    ]


async def _http_problem(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = error.code if isinstance(error, ApiProblem) else STATUS_CODES.get(error.status_code)
    body = problem_body(error.status_code, code or "error", str(error.detail))
    return problem_response(body, dict(error.headers or {}))


async def _validation_problem(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = field_errors(error.errors())
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields[:5]) or "invalid request"
    body = problem_body(422, "invalid_request", detail, errors=[f.model_dump() for f in fields])
    return problem_response(body)


def answer_with_problems(app: FastAPI) -> None:
    """Every HTTP and validation error of `app` answered as problem details."""
    # Starlette's own (404 for an unknown path, 405) and FastAPI's, which derives from it.
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
