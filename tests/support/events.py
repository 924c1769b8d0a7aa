"""Log events for tests, and the maps they must produce (computed independently)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.aggregator.decode import to_touchpoint
from shared.db.state_json import Json, experience_to_json, journey_to_json
from shared.domain import experience, journey
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.schemas.log_event import LogEvent

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def log_event(event_id: str, event_type: str, minute: float, **fields: Any) -> LogEvent:
    at = T0 + timedelta(minutes=minute)
    values: dict[str, Any] = {
        "event_id": event_id,
        "customer_id": "c1",
        "type": event_type,
        "channel": "web",
        "product_id": "p1",
        "occurred_at": at,
        "received_at": at,
        "source": "test",
    }
    values.update(fields)
    return LogEvent(**values)


JOURNEY_PATH = [
    ("ad_click", "ads"),
    ("product_view", "web"),
    ("search", "web"),
    ("add_to_cart", "web"),
    ("checkout_started", "web"),
    ("purchase", "web"),
    ("support_ticket_opened", "support"),
    ("review_posted", "web"),
]
NEUTRAL = [("survey_response", "email"), ("page_error", "web")]


def random_events(customers: int, per_customer: int, seed: int = 7) -> list[LogEvent]:
    """Journeys that mostly move forward, with revisits, neutral events and no-product ones.

    Events come back in a random order, so many arrive late for their journey.
    """
    rng = random.Random(seed)
    events: list[LogEvent] = []
    for c in range(customers):
        customer = f"cust-{c}"
        minute = 0.0
        step = 0
        for n in range(per_customer):
            minute += rng.choice([0.0, 1.0, 5.0, 60.0])
            if rng.random() < 0.15:
                event_type, channel = rng.choice(NEUTRAL)
            else:
                step = min(len(JOURNEY_PATH) - 1, max(0, step + rng.choice([-1, 0, 1, 1])))
                event_type, channel = JOURNEY_PATH[step]
            events.append(
                log_event(
                    f"{customer}-{n}",
                    event_type,
                    minute,
                    customer_id=customer,
                    channel=channel,
                    product_id=None if rng.random() < 0.1 else rng.choice(["p1", "p2"]),
                    sentiment=round(rng.uniform(-1, 1), 2) if rng.random() < 0.2 else None,
                    nps=rng.randint(0, 10) if event_type == "survey_response" else None,
                    revenue="19.99" if event_type == "purchase" else None,
                )
            )
    rng.shuffle(events)
    return events


def expected_maps(
    events: Iterable[LogEvent],
) -> tuple[dict[tuple[str, str], Json], dict[str, Json]]:
    """Journey and experience documents built from scratch with the pure reducers."""
    by_customer: dict[str, list[Any]] = defaultdict(list)
    by_journey: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for event in events:
        touchpoint = to_touchpoint(event)
        by_customer[touchpoint.customer_id].append(touchpoint)
        if touchpoint.product_id is not None:
            by_journey[(touchpoint.customer_id, touchpoint.product_id)].append(touchpoint)
    journeys = {
        key: as_stored(journey_to_json(journey.build(key[0], key[1], tps, DEFAULT_CATALOGUE)))
        for key, tps in by_journey.items()
    }
    experiences = {
        customer: as_stored(experience_to_json(experience.build(customer, tps, DEFAULT_CATALOGUE)))
        for customer, tps in by_customer.items()
    }
    return journeys, experiences


def as_stored(doc: Json) -> Json:
    """A state document as its JSONB column gives it back."""
    stored: Json = orjson.loads(orjson.dumps(doc))
    return stored
