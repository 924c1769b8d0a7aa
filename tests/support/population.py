"""A seeded population of customers with the friction alerts it must raise.

The truth is computed here from the events alone, with the definitions of DESIGN.md
section 4 written out directly, independently of the rules' code. Event times are
distinct (seconds apart), from 12 to 2 hours ago: every absence is due by now, no
stall is, and no alert is a backfill.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ERRORS = ("page_error", "payment_failed", "form_error")
CONTACTS = {"call": "phone", "chat_started": "chat", "support_ticket_opened": "email"}
CHECKOUT_WINDOW = timedelta(minutes=30)
ERROR_WINDOW = timedelta(hours=1)
SUPPORT_WINDOW = timedelta(days=7)
SYSTEMIC_WINDOW = timedelta(hours=1)
# (rule, customer or None, product or None, scope or None) -> highest severity
Truth = dict[tuple[str, str | None, str | None, str | None], str]


@dataclass(frozen=True)
class Event:
    event_id: str
    customer_id: str
    type: str
    at: datetime
    product_id: str | None = None
    channel: str = "web"
    nps: int | None = None
    sentiment: float | None = None

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event_id": self.event_id,
            "customer_id": self.customer_id,
            "type": self.type,
            "channel": self.channel,
            "timestamp": self.at.isoformat(),
        }
        for name in ("product_id", "nps", "sentiment"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        return body


def population(customers: int, now: datetime, seed: int = 2026) -> list[Event]:
    """Shoppers who buy, abandon, hit errors, call support and answer surveys."""
    rng = random.Random(seed)
    start = now - timedelta(hours=12)
    taken: set[datetime] = set()

    def moment(base: datetime, spread: timedelta) -> datetime:
        while True:
            at = base + timedelta(seconds=rng.randrange(int(spread.total_seconds())))
            if at not in taken and at < now - timedelta(hours=2):
                taken.add(at)
                return at

    events: list[Event] = []
    for n in range(customers):
        customer = f"cust-{n:04d}"
        product = rng.choice(["bike", "tv", "lamp"])
        visit = moment(start, timedelta(hours=8))
        checkout = moment(visit, timedelta(minutes=20))
        mine: list[tuple[str, datetime, dict[str, Any]]] = [
            ("product_view", visit, {"product_id": product}),
            ("checkout_started", checkout, {"product_id": product}),
        ]
        fate = rng.random()
        if fate < 0.5:  # buys within the window, 1 to 29 minutes later
            mine.append(("purchase", moment(checkout, timedelta(minutes=29)), {}))
        elif fate < 0.65:  # buys, but after the window
            mine.append(("purchase", checkout + timedelta(minutes=40 + rng.randrange(20)), {}))
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            mine.append((rng.choice(ERRORS), moment(visit, timedelta(minutes=50)), {}))
        for _ in range(rng.choice([0, 0, 0, 1, 3])):
            contact = rng.choice(list(CONTACTS))
            at = moment(visit, timedelta(hours=2))
            mine.append((contact, at, {"channel": CONTACTS[contact], "product_id": None}))
        if rng.random() < 0.3:
            for _ in range(rng.choice([1, 2])):
                nps = rng.choice([2, 5, 8, 10])
                mine.append(("survey_response", moment(visit, timedelta(hours=2)), {"nps": nps}))
        events += [
            Event(f"{customer}-{i}", customer, kind, at, **{"product_id": product, **fields})
            for i, (kind, at, fields) in enumerate(mine)
        ]
    # A cohort failing payment for one product within 22 minutes: systemic friction.
    spread = now - timedelta(hours=3)
    for n in range(12):
        customer = f"payfail-{n:02d}"
        at = moment(spread, timedelta(minutes=22))
        events.append(Event(f"{customer}-0", customer, "payment_failed", at, "kettle"))
    return events


def truth(events: list[Event]) -> Truth:
    """The alerts the events give, by DESIGN.md section 4 (stalls and sentiment aside)."""
    found: Truth = {}
    by_customer: dict[str, list[Event]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.at):
        by_customer[event.customer_id].append(event)

    def raise_(key: tuple[str, str | None, str | None, str | None], severity: str) -> None:
        if found.get(key) != "critical":
            found[key] = severity

    firings: list[tuple[str, str, str, datetime]] = []  # (rule, product, customer, at)
    for customer, mine in by_customer.items():
        for checkout in (e for e in mine if e.type == "checkout_started"):
            bought = any(
                e.type == "purchase" and e.product_id == checkout.product_id
                and checkout.at <= e.at <= checkout.at + CHECKOUT_WINDOW
                for e in mine
            )  # fmt: skip
            if not bought:
                raise_(("checkout_abandoned", customer, checkout.product_id, None), "warning")
                assert checkout.product_id is not None
                due = checkout.at + CHECKOUT_WINDOW
                firings.append(("checkout_abandoned", checkout.product_id, customer, due))
        errors = [e for e in mine if e.type in ERRORS]
        for error in errors:
            recent = [e for e in errors if error.at - ERROR_WINDOW <= e.at <= error.at]
            severity = "critical" if len(recent) >= 3 else "warning"
            raise_(("error_touchpoint", customer, error.product_id, None), severity)
            assert error.product_id is not None
            firings.append(("error_touchpoint", error.product_id, customer, error.at))
        contacts = [e for e in mine if e.type in CONTACTS]
        for contact in contacts:
            recent = [e for e in contacts if contact.at - SUPPORT_WINDOW <= e.at <= contact.at]
            if len(recent) >= 3:
                channels = len({e.channel for e in recent})
                severity = "critical" if channels >= 3 else "warning"
                raise_(("repeated_support", customer, None, None), severity)
        for survey in (e for e in mine if e.nps is not None):
            if survey.nps is not None and survey.nps <= 6:
                raise_(("detractor", customer, survey.product_id, None), "warning")
                assert survey.product_id is not None
                firings.append(("detractor", survey.product_id, customer, survey.at))
    # Systemic friction: 10+ customers of one product for one rule within an hour.
    for rule, product, _, at in firings:
        customers = {
            c
            for r, p, c, t in firings
            if (r, p) == (rule, product) and at - SYSTEMIC_WINDOW <= t <= at
        }
        if len(customers) >= 10:
            raise_(("systemic_friction", None, product, rule), "critical")
    return found


def near_time_order(events: list[Event], seed: int = 7) -> list[Event]:
    """Time order, shuffled within 4-minute slices, with 5% of events sent twice."""
    rng = random.Random(seed)
    slices: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        slices[int(event.at.timestamp()) // 240].append(event)
    order: list[Event] = []
    for key in sorted(slices):
        chunk = slices[key]
        rng.shuffle(chunk)
        order.extend(chunk)
    for event in rng.sample(events, len(events) // 20):
        order.insert(rng.randrange(order.index(event), len(order)) + 1, event)
    return order


def any_order(events: list[Event], seed: int = 11) -> list[Event]:
    order = list(events)
    random.Random(seed).shuffle(order)
    return order
