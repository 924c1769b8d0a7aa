"""The console: one page whose scripts draw every view from the JSON API.

Every view has its own path, so a person can bookmark and share it; each path answers
the same page, and the page's router picks the view. Scripts, styles and the chart
library come from this package (services/api/console/static, shared/web/vendor); the
Content-Security-Policy lets the page talk to this host only.
"""

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
ASSETS_PATH = "/assets/console"

# Every console view's path; anything else stays the API's (a JSON 404 when unknown).
VIEW_PATHS = (
    "/",
    "/sign-in",
    "/customers",
    "/customers/{customer_id}",
    "/customers/{customer_id}/journeys/{product_id}",
    "/funnels",
    "/funnels/{product_id}",
    "/flows",
    "/flows/{product_id}",
    "/hotspots",
    "/alerts",
    "/alerts/{alert_id}",
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        # ECharts and the views set style attributes on the elements they draw.
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def console_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    for path in VIEW_PATHS:
        router.add_api_route(path, page, methods=["GET"], name=f"console {path}")

    # StaticFiles resolves the path safely and answers 404 and 304 itself.
    files = StaticFiles(directory=STATIC)

    @router.get(ASSETS_PATH + "/{path:path}")
    async def asset(path: str, request: Request) -> Response:
        response = await files.get_response(path, request.scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return router
