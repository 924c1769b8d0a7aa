"""The OpenAPI schema as the services really answer.

- Request bodies that routes parse themselves (for per-event error reports) are
  added to the components.
- Every error is problem details: FastAPI's own 422 declaration is replaced, every
  operation with a body declares 400 (not JSON), and every operation that needs a
  key declares 401 and 403.
- API keys are declared as security schemes: a Bearer token everywhere, and HTTP
  Basic (the key as user name) on the Segment door.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.web.problems import Problem, problem_content

BEARER = "bearer"
BASIC = "basic"
SECURITY_SCHEMES = {
    BEARER: {"type": "http", "scheme": "bearer", "description": "An API key"},
    BASIC: {"type": "http", "scheme": "basic", "description": "A write key as the user name"},
}
KEY_ERRORS = {401: "Missing, unknown or revoked key", 403: "The key lacks the scope"}
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def needs(*schemes: str) -> dict[str, Any]:
    """`openapi_extra` for a route that checks its key itself: any one of `schemes`."""
    return {"security": [{scheme: []} for scheme in schemes]}


def document_models(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
    """Add `models` (and Problem) to the components, and declare errors and keys."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            documented: list[type[BaseModel]] = [Problem, *models]
            _, definitions = models_json_schema(
                [(model, "validation") for model in documented],
                ref_template="#/components/schemas/{model}",
            )
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            schemas.update(definitions.get("$defs", {}))
            for name in FASTAPI_VALIDATION:
                schemas.pop(name, None)
            components["securitySchemes"] = SECURITY_SCHEMES
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    _declare_errors(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    validation = responses.get("422", {})
    if "HTTPValidationError" in str(validation.get("content", "")):
        responses["422"] = problem_content("The request's fields are invalid; each is named")
    if "requestBody" in operation:
        responses.setdefault("400", problem_content("The body is not valid JSON"))
    if operation.get("security"):
        for status, why in KEY_ERRORS.items():
            responses.setdefault(str(status), problem_content(why))
