"""The console's demo: a `journeymap up` process, the events it is shown, and a wait
until its maps show them. Used by the browser tests and by scripts/screenshots.py, so
this module imports neither pytest nor anything async.

The data: the README's walk-through (alice, a bike bought, a detractor's survey answer),
then customers that give the bike funnel a drop-off in three stages (erin, bob and
frank stopped weeks ago: past the 30-day inactivity window their journeys are
abandoned as soon as the service's clock fires the timeouts), a revisit (dave went
back to comparing after his cart), a critical error burst (carol's payment failed
three times within the hour, minutes ago, so the alert is still open), a loyal
customer (gina) and a second product (henry's helmet). One event is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

Event = dict[str, Any]
T = TypeVar("T")

PRODUCT = "bike"

# README.md, "Walk-through with curl", word for word.
README_ALICE: list[Event] = [
    {"event_id": "w1", "customer_id": "alice", "type": "ad_click", "channel": "ads", "product_id": "bike", "timestamp": "2026-11-20T10:00:00Z"},  # noqa: E501
    {"event_id": "w2", "customer_id": "alice", "type": "product_view", "channel": "web", "product_id": "bike", "timestamp": "2026-11-20T10:05:00Z"},  # noqa: E501
    {"event_id": "w3", "customer_id": "alice", "type": "add_to_cart", "channel": "web", "product_id": "bike", "timestamp": "2026-11-20T10:09:00Z"},  # noqa: E501
    {"event_id": "w4", "customer_id": "alice", "type": "purchase", "channel": "web", "product_id": "bike", "revenue": 499.00, "timestamp": "2026-11-20T10:12:00Z"},  # noqa: E501
    {"event_id": "w5", "customer_id": "alice", "type": "support_ticket_opened", "channel": "support", "product_id": "bike", "sentiment": -0.4, "timestamp": "2026-11-22T09:00:00Z"},  # noqa: E501
    {"event_id": "w6", "customer_id": "alice", "type": "survey_response", "channel": "email", "nps": 6, "csat": 2, "timestamp": "2026-11-22T12:00:00Z"},  # noqa: E501
]  # fmt: skip

# Who dropped where in the bike funnel (abandoned: no event for the inactivity window).
DROPPED = {"awareness": "erin", "consideration": "bob", "decision": "frank"}
REVISITING = "dave"
ERRORS = "carol"  # three payment failures within the hour: a critical alert
REFUSED_EVENT_ID = "bad-1"


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _journey(
    customer: str, start: datetime, steps: list[tuple[int, str, str, dict[str, Any]]]
) -> list[Event]:
    """Events of one customer: (minutes after start, type, channel, extra fields)."""
    return [
        {
            "event_id": f"{customer}-{n}",
            "customer_id": customer,
            "type": event_type,
            "channel": channel,
            "product_id": PRODUCT,
            "timestamp": stamp(start + timedelta(minutes=minutes)),
            **extra,
        }
        for n, (minutes, event_type, channel, extra) in enumerate(steps, 1)
    ]


def demo_batches(now: datetime) -> list[list[Event]]:
    """The demo's batches, to post in order (alice last, so her events are the latest
    received), with times relative to `now` except the README's."""
    day = timedelta(days=1)
    erin = _journey(
        "erin",
        now - 45 * day,
        [(0, "ad_impression", "ads", {}), (1, "ad_click", "ads", {})],
    )
    bob = _journey(
        "bob",
        now - 40 * day,
        [
            (0, "ad_click", "ads", {}),
            (4, "product_view", "web", {}),
            (9, "compare", "web", {"sentiment": -0.2}),
        ],
    )
    frank = _journey(
        "frank",
        now - 35 * day,
        [
            (0, "social_click", "social", {}),
            (3, "product_view", "web", {}),
            (8, "add_to_cart", "web", {}),
            (10, "checkout_started", "web", {}),
        ],
    )
    gina = _journey(
        "gina",
        now - 6 * day,
        [
            (0, "word_of_mouth", "store", {}),
            (30, "search", "web", {}),
            (42, "add_to_cart", "web", {}),
            (45, "purchase", "web", {"revenue": 899.0}),
            (2 * 24 * 60, "review_posted", "web", {"sentiment": 0.8}),
        ],
    )
    dave = _journey(
        REVISITING,
        now - 3 * day,
        [
            (0, "ad_click", "ads", {}),
            (6, "product_view", "web", {}),
            (12, "add_to_cart", "web", {}),
            (15, "compare", "web", {}),  # back to consideration: a revisit
            (25, "purchase", "web", {"revenue": 649.0}),
        ],
    )
    carol = _journey(
        ERRORS,
        now - timedelta(minutes=50),
        [
            (0, "referral_visit", "web", {}),
            (5, "product_view", "web", {}),
            (10, "add_to_cart", "web", {}),
            (15, "checkout_started", "web", {}),
            (16, "payment_failed", "web", {"sentiment": -0.5}),
            (17, "payment_failed", "web", {"sentiment": -0.7}),
            (18, "payment_failed", "web", {"sentiment": -0.8}),
            (20, "purchase", "web", {"revenue": 549.0}),
        ],
    )
    henry = [
        {**event, "product_id": "helmet"}
        for event in _journey(
            "henry",
            now - 2 * day,
            [(0, "ad_click", "ads", {}), (3, "product_view", "web", {}), (7, "purchase", "web", {"revenue": 59.0})],  # noqa: E501
        )
    ]  # fmt: skip
    refused = [{"event_id": REFUSED_EVENT_ID, "customer_id": "zed", "type": "purchase", "revenue": "lots"}]  # noqa: E501  # fmt: skip
    return [erin + bob + frank, gina + dave + henry, carol + refused, README_ALICE]


def demo_event_ids(now: datetime) -> set[str]:
    """Every accepted demo event's id."""
    return {
        e["event_id"]
        for batch in demo_batches(now)
        for e in batch
        if e["event_id"] != REFUSED_EVENT_ID
    }


def live_event(event_id: str, customer: str, event_type: str, **extra: Any) -> Event:
    """An event happening now, for a view that is open to show without a reload. It
    names no product, so the demo's funnels and flows stay as they were."""
    return {
        "event_id": event_id,
        "customer_id": customer,
        "type": event_type,
        "channel": "web",
        "timestamp": stamp(datetime.now(UTC)),
        **extra,
    }


# -- The service ------------------------------------------------------------------


@dataclass
class Up:
    """A running `journeymap up`."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path

    def key(self, role: str) -> str:
        key: str = json.loads((self.data_dir / "keys.json").read_text())[role]
        return key

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.key(role)}"},
            timeout=10,
        )

    def stop(self, within: float = 60) -> int:
        """Ctrl-C, as a person stops it; its own PostgreSQL stops with it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def journeymap_command() -> list[str]:
    """The installed console script, next to this interpreter."""
    return [str(Path(sys.executable).parent / "journeymap")]


def service_env(**extra: str) -> dict[str, str]:
    """The environment without any JOURNEYMAP_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYMAP_")}
    env.update(extra)
    return env


@contextlib.contextmanager
def running_up(
    data_dir: Path, port: int, *, env: dict[str, str] | None = None, ready_within: float = 120
) -> Iterator[Up]:
    """`journeymap up` on `port`, ready (GET /readyz answers 200); stopped with SIGINT
    afterwards (killed if it does not stop)."""
    log_path = data_dir.parent / f"up-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*journeymap_command(), "up", "--port", str(port), "--data-dir", str(data_dir)],
            env=env or service_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    up = Up(process, f"http://127.0.0.1:{port}", data_dir, log_path)
    try:

        def ready() -> bool | None:
            if process.poll() is not None:
                raise AssertionError(
                    f"journeymap up exited with {process.returncode}:\n{log_path.read_text()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{up.base_url}/readyz", timeout=2).status_code == 200:
                    return (data_dir / "keys.json").exists() or None
            return None

        wait_for(ready, within=ready_within, what="journeymap up to be ready")
        yield up
    finally:
        if process.poll() is None:
            up.stop()


def wait_for(probe: Callable[[], T | None], *, within: float, what: str, every: float = 0.2) -> T:
    """The first non-None result of `probe`, or AssertionError after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within} s for {what}")
        time.sleep(every)


def chromium() -> str | None:
    """Debian's Chromium (/usr/bin/chromium, else `chromium` on the PATH), for Playwright
    to drive: no browser is downloaded."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def chromium_args() -> list[str]:
    """Chromium's sandbox does not run as root (in a container)."""
    return ["--no-sandbox"] if os.geteuid() == 0 else []


# -- Posting and waiting ----------------------------------------------------------


def post(up: Up, events: list[Event]) -> dict[str, Any]:
    """Post a batch with the write key over HTTP; the answer's body (202: all accepted,
    207: some refused)."""
    with up.client("write") as writer:
        response = writer.post("/v1/events", json={"batch": events})
    assert response.status_code in (202, 207), response.text
    body: dict[str, Any] = response.json()
    return body


def post_demo(up: Up, now: datetime) -> None:
    for batch in demo_batches(now):
        answer = post(up, batch)
        refused = {r.get("event_id") for r in answer["rejected"]}
        expected = {e["event_id"] for e in batch if e["event_id"] == REFUSED_EVENT_ID}
        assert refused == expected, answer


@dataclass(frozen=True)
class DemoAlerts:
    detractor: int  # alice's (warning)
    errors: int  # carol's burst of payment failures (critical)


def wait_for_demo(up: Up, now: datetime, within: float = 60) -> DemoAlerts:
    """Wait until the maps show every demo event, the abandoned journeys and the alerts."""
    wanted = demo_event_ids(now)
    with up.client("read") as reader:

        def mapped() -> bool | None:
            answer = reader.get("/v1/stream", params={"limit": 500})
            seen = {t["event_id"] for t in answer.json()["touchpoints"]}
            return wanted <= seen or None

        wait_for(mapped, within=within, what="every demo event in the maps")

        def abandoned() -> bool | None:
            for stage, customer in DROPPED.items():
                answer = reader.get(
                    f"/v1/products/{PRODUCT}/funnel/dropped", params={"stage": stage}
                )
                if customer not in {j["customer_id"] for j in answer.json()["journeys"]}:
                    return None
            return True

        wait_for(abandoned, within=within, what="the journeys to be abandoned")

        def alerts() -> DemoAlerts | None:
            found = reader.get("/v1/alerts", params={"status": "open", "limit": 100}).json()
            by_rule = {(a["customer_id"], a["rule"]): a for a in found["alerts"]}
            detractor = by_rule.get(("alice", "detractor"))
            errors = by_rule.get((ERRORS, "error_touchpoint"))
            if detractor is None or errors is None or errors["severity"] != "critical":
                return None
            return DemoAlerts(detractor=detractor["id"], errors=errors["id"])

        return wait_for(alerts, within=within, what="the demo's alerts")
