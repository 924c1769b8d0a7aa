"""The API docs (/docs, /redoc) served from this package, never from another host.

FastAPI's own /docs and /redoc load Swagger UI and ReDoc from a CDN, Google Fonts and
a favicon from fastapi.tiangolo.com. Here the same pages load them from
/assets/vendor (shared/web/vendor, filled from the pinned npm packages of
assets.lock.json by scripts/vendor_assets.py) and the favicon from /assets/favicon.svg;
a Content-Security-Policy keeps the browser from fetching anything elsewhere (ReDoc's
side menu would show a logo from cdn.redoc.ly).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared.web.vendoring import LOCK_FILE, VENDOR_DIR, VendorError, read_lock

logger = logging.getLogger(__name__)

VENDOR_PATH = "/assets/vendor"
FAVICON_PATH = "/assets/favicon.svg"
FAVICON = Path(__file__).resolve().parent / "favicon.svg"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"

# The point is the hosts: this one only. Swagger UI starts from an inline script; both
# UIs set inline styles; ReDoc compiles schema checks with `new Function` and runs its
# search in a worker made from a blob; Swagger UI shows image and audio responses of
# "Try it out" from blobs.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def serve_docs_locally(app: FastAPI, vendor_dir: Path = VENDOR_DIR) -> None:
    """Add /docs, /docs/oauth2-redirect, /redoc and the /assets they load to the app.

    The app must be made with docs_url=None and redoc_url=None, so FastAPI does not
    add its CDN versions of the same pages.
    """
    warn_if_not_vendored(vendor_dir)
    app.include_router(_docs_router(app, vendor_dir))


def missing_vendored_files(lock_file: Path = LOCK_FILE, vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """The files the lock file lists that are not in the vendor folder."""
    packages = read_lock(lock_file.read_text(encoding="utf-8"))
    names = [name for package in packages for name in package.files.values()]
    return [name for name in names if not (vendor_dir / name).is_file()]


def warn_if_not_vendored(vendor_dir: Path) -> None:
    try:
        missing = missing_vendored_files(LOCK_FILE, vendor_dir)
    except (OSError, VendorError) as error:
        problem = f"the lock file {LOCK_FILE} cannot be read ({error})"
    else:
        if not missing:
            return
        problem = f"{vendor_dir} lacks {', '.join(missing)}"
    logger.warning(
        "The API docs and the console will miss their scripts and styles: %s. "
        "Run ./scripts/install or python scripts/vendor_assets.py.",
        problem,
    )


def _docs_router(app: FastAPI, vendor_dir: Path) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    # StaticFiles resolves paths inside the folder only and answers 404 and 304 itself;
    # called from a route (not mounted) it answers 404, not 500, when the folder is
    # missing.
    vendored = StaticFiles(directory=vendor_dir, check_dir=False)

    @router.api_route(VENDOR_PATH + "/{path:path}", methods=["GET", "HEAD"])
    async def vendored_file(path: str, request: Request) -> Response:
        response = await vendored.get_response(path, request.scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @router.api_route(FAVICON_PATH, methods=["GET", "HEAD"])
    async def favicon() -> FileResponse:
        # Every page asks for it; a day's cache spares the request on each view.
        return FileResponse(
            FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
        )

    openapi_path = app.openapi_url
    if openapi_path is None:
        return router
    oauth2_redirect_path = DOCS_PATH + "/oauth2-redirect"

    @router.get(DOCS_PATH)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_path,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{VENDOR_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{VENDOR_PATH}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON_PATH,
            oauth2_redirect_url=root + oauth2_redirect_path,
            init_oauth=app.swagger_ui_init_oauth,
            # No badge that sends the schema's URL to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )
        page.headers.update(DOCS_HEADERS)
        return page

    @router.get(oauth2_redirect_path)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get(REDOC_PATH)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_redoc_html(
            openapi_url=root + openapi_path,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{VENDOR_PATH}/redoc.standalone.js",
            redoc_favicon_url=root + FAVICON_PATH,
            with_google_fonts=False,
        )
        page.headers.update(DOCS_HEADERS)
        return page

    return router
