"""A generator of customer journeys with a realistic event mix and ~400-byte bodies.

Mix by stage: 80% consideration, 10% awareness, 6% decision, 3% service, 1% loyalty.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.touchpoint import Touchpoint

MIX: list[tuple[float, list[tuple[str, str]]]] = [
    (0.80, [("page_view", "web"), ("product_view", "web"), ("search", "web"),
            ("email_open", "email"), ("compare", "app")]),
    (0.10, [("ad_impression", "ads"), ("ad_click", "ads"), ("social_impression", "social")]),
    (0.06, [("add_to_cart", "web"), ("checkout_started", "web"), ("purchase", "web")]),
    (0.03, [("support_ticket_opened", "support"), ("chat_started", "support")]),
    (0.01, [("review_posted", "web"), ("loyalty_joined", "email")]),
]  # fmt: skip
EPOCH = datetime(2026, 10, 1, tzinfo=UTC)


def pick_type(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    for share, kinds in MIX:
        if roll < share:
            return rng.choice(kinds)
        roll -= share
    return rng.choice(MIX[-1][1])


def event_body(
    rng: random.Random, customer: int, number: int, at: datetime, products: int = 3
) -> dict[str, Any]:
    """One event as a client sends it (about 400 bytes of JSON); 10% name no product
    when there are several products."""
    event_type, channel = pick_type(rng)
    product = f"product-{rng.randint(1, products)}"
    return {
        "event_id": f"e-{customer}-{number}",
        "customer_id": f"customer-{customer:07d}",
        "type": event_type,
        "channel": channel,
        "product_id": product if products == 1 or rng.random() < 0.9 else None,
        "timestamp": at.isoformat(),
        "sentiment": round(rng.uniform(-1, 1), 2) if rng.random() < 0.05 else None,
        "properties": {
            "page": f"https://shop.example.com/catalogue/item-{rng.randint(1, 5000)}",
            "referrer": "https://www.search.example/?q=trail+running+shoes",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0",
            "session": f"s-{customer}-{number // 20}",
        },
    }


def events(
    customers: int, per_customer: int, *, products: int = 3, seed: int = 1
) -> Iterator[dict[str, Any]]:
    """Customers' events interleaved in time order, like live traffic."""
    rng = random.Random(seed)
    for number in range(per_customer):
        for customer in range(customers):
            at = EPOCH + timedelta(minutes=number * 7, seconds=customer % 600)
            yield event_body(rng, customer, number, at, products)


def as_touchpoint(body: dict[str, Any]) -> Touchpoint:
    at = datetime.fromisoformat(body["timestamp"])
    return Touchpoint(
        event_id=body["event_id"],
        customer_id=body["customer_id"],
        type=body["type"],
        channel=body["channel"],
        occurred_at=at,
        received_at=at,
        product_id=body["product_id"],
        identified=True,
        source="bench",
        sentiment=body["sentiment"],
        properties=body["properties"],
    )
