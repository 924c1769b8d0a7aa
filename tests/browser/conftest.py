"""The console in a real headless Chromium, against a real `journeymap up`.

One `journeymap up` serves the whole package: a fresh data folder, and a scratch
database of its own on the test PostgreSQL (so `journeymap keys` can manage its keys
while it runs). The demo events are posted once, over HTTP with the write key, and the
tests start when the maps show them. Each module has one browser; each test a fresh
context (no cookies), whose every request and console error is recorded: a request to
another host, or an error nobody expected, fails the test.

The browser is Debian's Chromium (scripts/test installs it); nothing is downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from tests.support.console_data import (
    DemoAlerts,
    Up,
    chromium,
    chromium_args,
    post_demo,
    running_up,
    service_env,
    wait_for_demo,
)
from tests.support.postgres import scratch_database
from tests.support.server import free_port

# Playwright's assertions wait this long by default (the console polls every 3 s).
expect.set_options(timeout=30_000)


def chromium_path() -> str:
    path = chromium()
    if path is None:
        pytest.fail("no Chromium: install Debian's chromium (./scripts/test does)")
    return path


@dataclass(frozen=True)
class Console:
    """The running service and what the tests need to know about its data."""

    up: Up
    env: dict[str, str]  # the service's environment: `journeymap keys` with it
    alerts: DemoAlerts
    now: datetime

    @property
    def base_url(self) -> str:
        return self.up.base_url

    def url(self, path: str) -> str:
        return self.up.base_url + path

    def key(self, role: str) -> str:
        return self.up.key(role)

    def key_name(self, role: str) -> str:
        """The name `journeymap up` gave the role's key (`local-read-1a2b3c`)."""
        with self.up.client(role) as client:
            name: str = client.get("/v1/session").json()["key_name"]
        return name


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    data_dir = tmp_path_factory.mktemp("console") / "data"
    with scratch_database() as database_url:
        env = service_env(JOURNEYMAP_DATABASE_URL=database_url)
        with running_up(data_dir, free_port(), env=env) as up:
            now = datetime.now(UTC)
            post_demo(up, now)
            alerts = wait_for_demo(up, now)
            yield Console(up, env, alerts, now)
            assert up.stop() == 0, up.log_path.read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=chromium_args(),
        )
        try:
            yield browser
        finally:
            browser.close()


# What Chromium logs for a fetch answered with an error status.
REFUSED = re.compile(r"^Failed to load resource: the server responded with a status of 401\b")


@dataclass
class Tab:
    """A fresh browser context's page, and what it did."""

    page: Page
    context: BrowserContext
    console: Console
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Console errors the test expects (a refused key's 401): pattern -> how many at most.
    allowed: dict[re.Pattern[str], int] = field(default_factory=dict)

    def goto(self, path: str) -> None:
        self.page.goto(self.console.url(path))

    def sign_in(self, role: str, path: str = "/", *, lands: str | None = None) -> None:
        """Ask for `path`, sign in with the role's key on the form shown, and land there
        (or where that view sends you: `lands`)."""
        self.goto(path)
        expect(self.page).to_have_url(self.console.url("/sign-in"))
        expect(self.page.locator("form[aria-label='Sign in']")).to_be_visible()
        self.page.locator("#key").fill(self.console.key(role))
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("#signed-in-as")).to_contain_text(self.console.key_name(role))
        expect(self.page).to_have_url(self.console.url(lands or path))

    def has_session_cookie(self) -> bool:
        return any(c.get("name") == "journeymap_key" for c in self.context.cookies())

    def unexpected_errors(self) -> list[str]:
        budget = dict(self.allowed)
        unexpected = []
        for error in self.errors:
            pattern = next((p for p, n in budget.items() if n > 0 and p.search(error)), None)
            if pattern is None:
                unexpected.append(error)
            else:
                budget[pattern] -= 1
        return unexpected


@pytest.fixture
def tab(browser: Browser, console: Console) -> Iterator[Tab]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        timezone_id="UTC",
    )
    page = context.new_page()
    tab = Tab(page, context, console)
    page.on("request", lambda request: tab.requests.append(request.url))
    page.on("console", lambda message: _on_console(tab, message))
    page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
    try:
        yield tab
    finally:
        context.close()
    elsewhere = [url for url in tab.requests if not url.startswith(console.base_url + "/")]
    assert elsewhere == [], "the console asked another host"
    assert tab.unexpected_errors() == [], "the console logged errors"


def _on_console(tab: Tab, message: ConsoleMessage) -> None:
    if message.type == "error":
        tab.errors.append(message.text)
