"""The alerts are a function of the events, not of the order they arrived in.

A generated stream of a few customers is delivered (a) in time order, (b) in an order
bounded by the allowed lateness, with duplicates, (c) cut into random batches, and
(d) in any order at all. Each delivery runs the pure friction engine the way the
aggregator does: a batch is stored (the evidence), then evaluated, journeys that got
a late event are checked for stalls, and the signals are applied to the alerts; at
the end event time runs on until every timer has fired.

(b) and (c) give exactly the alerts of (a): the same rule, customer, product and
highest severity. (d) leaves no alert open that (a) did not raise, and misses none of
(a)'s alerts or escalations.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.alerts import AlertBook, AlertStatus, Severity
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.engine import FrictionEngine
from shared.domain.friction.rules import closed_stalls
from shared.domain.instances import build_instances
from shared.domain.journey import JourneyState
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.domain.touchpoint import Touchpoint
from tests.support.touchpoints import touch

# Short windows, so that a few hours of events exercise every rule.
RULES = FrictionRules(
    support_window=timedelta(minutes=90),
    stall_after={"consideration": timedelta(minutes=120), "decision": timedelta(minutes=60)},
)
LATENESS = RULES.allowed_lateness
INACTIVITY = timedelta(days=30)
KINDS: list[tuple[str, dict[str, Any]]] = [
    ("checkout_started", {}),
    ("purchase", {}),
    ("page_error", {}),
    ("payment_failed", {}),
    ("call", {"channel": "phone", "product": None}),
    ("chat_started", {"channel": "chat", "product": None}),
    ("support_ticket_opened", {"channel": "email", "product": None}),
    ("survey_response", {"nps": 2}),
    ("survey_response", {"nps": 9}),
    ("page_view", {"sentiment": -0.9}),
    ("page_view", {"sentiment": 0.5}),
    ("product_view", {}),
    ("add_to_cart", {}),
]
Outcome = set[tuple[str, str | None, str | None, Severity]]


@st.composite
def streams(draw: st.DrawFn) -> list[Touchpoint]:
    events = []
    for n in range(draw(st.integers(1, 30))):
        kind, fields = draw(st.sampled_from(KINDS))
        fields = {"product": draw(st.sampled_from(["p1", "p2"])), **fields}
        events.append(
            touch(
                kind,
                draw(st.integers(0, 300)),
                event_id=f"e{n:02d}",
                customer=draw(st.sampled_from(["c1", "c2"])),
                **fields,
            )
        )
    return events


def in_time_order(events: list[Touchpoint]) -> list[Touchpoint]:
    return sorted(events, key=lambda t: (t.occurred_at, t.event_id))


def journeys(
    keys: set[tuple[str, str]], stored: list[Touchpoint]
) -> dict[tuple[str, str], list[JourneyState]]:
    """The journeys as the maps hold them after the batch (they are exact in any order)."""
    return {
        (customer, product): [
            path.state
            for path in build_instances(
                customer,
                product,
                [t for t in stored if (t.customer_id, t.product_id) == (customer, product)],
                DEFAULT_CATALOGUE,
                INACTIVITY,
            )
        ]
        for customer, product in keys
    }


def deliver(batches: list[list[Touchpoint]]) -> AlertBook:
    """Run the batches as the aggregator would; then let event time run to the end."""
    engine = FrictionEngine(RULES, DEFAULT_CATALOGUE)
    book = AlertBook()
    stored: dict[str, Touchpoint] = {}
    for batch in batches:
        engine.evidence.add(batch)
        stream = []
        new = []
        for touchpoint in batch:
            is_new = touchpoint.event_id not in stored and touchpoint not in new
            stream.append((0, touchpoint, is_new))
            if is_new:
                new.append(touchpoint)
        stored.update((t.event_id, t) for t in new)
        signals = engine.run(stream)
        signals += closed_stalls(journeys(engine.late_journeys, list(stored.values())), RULES)
        engine.late_journeys.clear()
        for signal in signals:
            book.apply(signal, RULES.cooldown)
    if engine.watermarks:
        for signal in engine.advance(0, max(engine.watermarks.values()) + timedelta(days=30)):
            book.apply(signal, RULES.cooldown)
    return book


def outcome(book: AlertBook, *, without: str = "") -> Outcome:
    """(rule, customer, product, highest severity) of every alert raised."""
    highest: dict[tuple[str, str | None, str | None], Severity] = {}
    for alert in book.alerts:
        key = (alert.rule, alert.customer_id, alert.product_id)
        if alert.rule != without and (
            key not in highest or alert.severity.rank > highest[key].rank
        ):
            highest[key] = alert.severity
    return {(*key, severity) for key, severity in highest.items()}


def open_keys(book: AlertBook) -> set[tuple[str, str | None, str | None]]:
    return {
        (a.rule, a.customer_id, a.product_id)
        for a in book.alerts
        if a.status is not AlertStatus.RESOLVED
    }


@st.composite
def within_lateness(draw: st.DrawFn, events: list[Touchpoint]) -> list[Touchpoint]:
    """An arrival order where no event is behind the watermark when it arrives: each is
    delayed by up to the allowed lateness. Some are delivered twice, later."""
    most = int(LATENESS.total_seconds())
    arrivals = [
        (event.occurred_at + timedelta(seconds=draw(st.integers(0, most))), event.event_id, event)
        for event in events
    ]
    order = [event for _, _, event in sorted(arrivals, key=lambda a: (a[0], a[1]))]
    for event in draw(st.lists(st.sampled_from(events), max_size=5)) if events else []:
        order.insert(draw(st.integers(order.index(event) + 1, len(order))), event)
    return order


def cut(draw: st.DataObject, order: list[Touchpoint]) -> list[list[Touchpoint]]:
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(order)), max_size=6)))
    return [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(streams(), st.data())
def test_arrival_within_the_allowed_lateness_gives_the_time_ordered_alerts(
    events: list[Touchpoint], data: st.DataObject
) -> None:
    truth = outcome(deliver([in_time_order(events)]))
    late = data.draw(within_lateness(events))

    assert outcome(deliver([late])) == truth
    assert outcome(deliver(cut(data, late))) == truth


@settings(max_examples=300, deadline=None, derandomize=True)
@given(streams(), st.data())
def test_any_arrival_order_misses_no_alert_and_leaves_no_false_one_open(
    events: list[Touchpoint], data: st.DataObject
) -> None:
    truth_book = deliver([in_time_order(events)])
    truth = outcome(truth_book)
    shuffled = data.draw(st.permutations(events))
    book = deliver(cut(data, shuffled))

    raised_in_truth = {(rule, customer, product) for rule, customer, product, _ in truth}
    assert open_keys(book) <= raised_in_truth
    found = outcome(book)
    for rule, customer, product, severity in outcome(truth_book):
        assert any(
            (rule, customer, product) == (r, c, p) and got.rank >= severity.rank
            for r, c, p, got in found
        ), (rule, customer, product, severity)
