"""/docs and /redoc load every script, style and icon from this host.

The vendored files come from ./scripts/install (scripts/vendor_assets.py); without
them these tests fail, as the docs pages would.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from shared.metrics import Metrics
from shared.web.docs import serve_docs_locally
from shared.web.service import service_app

BASE_URL = "http://testserver"
LINKED = re.compile(r"""\b(?:src|href|spec-url)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = service_app("t", [], Metrics())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def other_hosts(html: str) -> list[str]:
    """Every linked URL that names a host, or a scheme, other than this one."""
    found = []
    for url in LINKED.findall(html):
        parts = urlsplit(url)
        if (parts.scheme or parts.netloc) and f"{parts.scheme}://{parts.netloc}" != BASE_URL:
            found.append(url)
    return found


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_link_only_to_this_host(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert len(LINKED.findall(html)) >= 2
    assert other_hosts(html) == []
    assert "/assets/favicon.svg" in html
    for forbidden in ("cdn.jsdelivr.net", "fonts.googleapis.com", "fastapi.tiangolo.com"):
        assert forbidden not in html
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_swagger_ui_gets_its_files_and_no_validator_badge(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/docs")).text

    assert 'src="/assets/vendor/swagger-ui-bundle.js"' in html
    assert 'href="/assets/vendor/swagger-ui.css"' in html
    assert '"validatorUrl": null' in html
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200


@pytest.mark.parametrize("name", ["swagger-ui-bundle.js", "redoc.standalone.js", "echarts.min.js"])
async def test_the_vendored_scripts_are_served(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/assets/vendor/{name}")

    assert response.status_code == 200, f"{name} missing: run ./scripts/install"
    assert "javascript" in response.headers["content-type"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.content) > 100_000


async def test_the_stylesheet_and_favicon_are_served(client: httpx.AsyncClient) -> None:
    css = await client.get("/assets/vendor/swagger-ui.css")
    icon = await client.get("/assets/favicon.svg")

    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")


@pytest.mark.parametrize(
    "path", ["/assets/vendor/../docs.py", "/assets/vendor/%2e%2e/docs.py", "/assets/vendor/nope.js"]
)
async def test_nothing_outside_the_vendor_folder_is_served(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 404


async def test_the_schema_is_still_served_and_leaves_the_docs_out(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/assets"))]


async def test_without_the_vendored_files_a_warning_and_404s(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastAPI(docs_url=None, redoc_url=None)
    with caplog.at_level(logging.WARNING, logger="shared.web.docs"):
        serve_docs_locally(app, tmp_path / "missing")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        script = await client.get("/assets/vendor/redoc.standalone.js")
        page = await client.get("/redoc")

    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert "redoc.standalone.js" in warning.getMessage()
    assert "./scripts/install" in warning.getMessage()
    assert script.status_code == 404
    assert page.status_code == 200
