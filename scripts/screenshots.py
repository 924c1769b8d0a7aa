"""Screenshots of the console for the docs, from a real `journeymap up` and the demo data.

    .venv/bin/python scripts/screenshots.py

Starts `journeymap up` on a free port with a temporary data folder (and so its own
PostgreSQL), posts the demo events of tests/support/console_data.py with the write key,
waits until the maps show them, signs in with the alerts key in headless Chromium
(Debian's; nothing is downloaded) at 1280x900 and writes docs/images/console-*.png.
Then stops the service with Ctrl-C (SIGINT), which stops its PostgreSQL too.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from tests.support.console_data import (  # noqa: E402
    DemoAlerts,
    Up,
    chromium,
    chromium_args,
    post_demo,
    running_up,
    wait_for_demo,
)
from tests.support.server import free_port  # noqa: E402

IMAGES = ROOT / "docs" / "images"
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 900


def shots(alerts: DemoAlerts) -> list[tuple[str, str, Callable[[Page], None]]]:
    """(file name, path, what to wait for, or do, before the picture)."""

    def drawn(selector: str) -> Callable[[Page], None]:
        return lambda page: expect(page.locator(selector).first).to_be_attached()

    def funnel(page: Page) -> None:
        drawn("#funnel-chart svg text")(page)
        page.get_by_role("button", name="Show the 1 journey dropped in consideration").click()
        expect(page.locator("section#dropped").get_by_role("link", name="bob #0")).to_be_visible()

    return [
        ("console-home.png", "/", drawn("tr[data-event-id='w6']")),
        ("console-experience-map.png", "/customers/alice", drawn("#emotion svg text")),
        (
            "console-journey-map.png",
            "/customers/alice/journeys/bike?instance=0",
            drawn("article.tp[data-event-id='w4']"),
        ),
        ("console-funnel.png", "/funnels/bike", funnel),
        ("console-flow.png", "/flows/bike", drawn("#flow-chart svg text")),
        ("console-alert.png", f"/alerts/{alerts.errors}", drawn("#note")),
    ]


def photograph(up: Up, alerts: DemoAlerts) -> list[Path]:
    browser_path = chromium()
    if browser_path is None:
        raise SystemExit("no Chromium: install Debian's chromium (apt-get install chromium)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=chromium_args())
        try:
            context = browser.new_context(
                viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT},
                locale="en-US",
                timezone_id="UTC",
            )
            page = context.new_page()
            expect.set_options(timeout=30_000)
            page.goto(f"{up.base_url}/sign-in")
            page.locator("#key").fill(up.key("alerts"))
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#sign-out")).to_be_visible()
            for name, path, ready in shots(alerts):
                page.goto(up.base_url + path)
                ready(page)
                target = IMAGES / name
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
        finally:
            browser.close()
    return written


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="journeymap-screenshots-") as scratch:
        with running_up(Path(scratch) / "data", free_port()) as up:
            now = datetime.now(UTC)
            post_demo(up, now)
            alerts = wait_for_demo(up, now)
            written = photograph(up, alerts)
            code = up.stop()
        if code != 0:
            raise SystemExit(f"journeymap up exited with {code}")
    for path in written:
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
