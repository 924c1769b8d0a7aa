"""A recorded stream of five days with known frictions, and the alerts it must give.

The expected alerts are written out by hand from the scenario, independently of
the rules' code.
"""

from __future__ import annotations

from typing import Any

from shared.schemas.log_event import LogEvent
from tests.support.events import log_event

DAY = 24 * 60
AlertTuple = tuple[str, str | None, str | None, str | None, str, str]


def _event(customer: str, n: int, event_type: str, minute: float, **fields: Any) -> LogEvent:
    fields.setdefault("product_id", None)
    return log_event(f"{customer}-{n}", event_type, minute, customer_id=customer, **fields)


def recorded_stream() -> list[LogEvent]:
    events: list[LogEvent] = []
    # Regular buyers all day, every day: they keep event time moving and raise nothing.
    for day in range(5):
        for i in range(40):
            start = day * DAY + 15 * i  # 09:00 to 18:45
            for n, event_type in enumerate(
                ["ad_click", "product_view", "add_to_cart", "checkout_started", "purchase"]
            ):
                events.append(
                    _event(f"reg-{day}-{i}", n, event_type, start + 2 * n, product_id="shoes")
                )
    # Twelve shoppers abandon a bike checkout within the same half hour on day 0.
    for i in range(12):
        start = 60 + 3 * i
        for n, event_type in enumerate(["product_view", "add_to_cart", "checkout_started"]):
            events.append(_event(f"abandon-{i}", n, event_type, start + n, product_id="bike"))
    # A buyer pays 45 minutes after starting the checkout.
    events += [
        _event("late-buyer", 0, "checkout_started", DAY, product_id="bike"),
        _event("late-buyer", 1, "purchase", DAY + 45, product_id="bike", revenue="900"),
    ]
    # Survey answers: a detractor; a detractor who comes round two days later.
    events += [
        _event("grumpy", 0, "survey_response", DAY + 180, nps=3),
        _event("critic", 0, "survey_response", DAY + 240, nps=4),
        _event("critic", 1, "survey_response", 3 * DAY + 240, nps=9),
    ]
    # Three service contacts on three channels within two days.
    events += [
        _event("caller", 0, "call", 2 * DAY, channel="phone"),
        _event("caller", 1, "chat_started", 2 * DAY + 360, channel="chat"),
        _event("caller", 2, "support_ticket_opened", 3 * DAY + 60, channel="email"),
    ]
    # Three errors within an hour, then quiet.
    events += [
        _event("buggy", n, t, 2 * DAY + 300 + 20 * n, product_id="shoes")
        for n, t in enumerate(["page_error", "form_error", "payment_failed"])
    ]
    # An angry chat; a browser who only looked (a 14-day stall is beyond the stream).
    events += [
        _event("angry", 0, "chat_started", 3 * DAY + 120, channel="chat", sentiment=-0.8),
        _event("browser", 0, "product_view", 0, product_id="tv"),
    ]
    # The stream arrives in event-time order, as live traffic does.
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def expected_alerts() -> list[AlertTuple]:
    """(rule, scope, customer, product, severity, status) of every alert, sorted."""
    expected: list[AlertTuple] = []
    for i in range(12):
        expected.append(("checkout_abandoned", None, f"abandon-{i}", "bike", "warning", "open"))
        expected.append(("stage_stalled", None, f"abandon-{i}", "bike", "info", "open"))
    expected += [
        # 10+ customers of the bike within an hour, for two rules; both calm down later.
        ("systemic_friction", "checkout_abandoned", None, "bike", "critical", "resolved"),
        ("systemic_friction", "stage_stalled", None, "bike", "critical", "resolved"),
        ("checkout_abandoned", None, "late-buyer", "bike", "warning", "resolved"),
        ("detractor", None, "grumpy", None, "warning", "open"),
        ("detractor", None, "critic", None, "warning", "resolved"),
        ("repeated_support", None, "caller", None, "critical", "open"),
        ("error_touchpoint", None, "buggy", "shoes", "critical", "resolved"),
        ("negative_sentiment", None, "angry", None, "warning", "open"),
    ]
    return sorted(expected, key=repr)
