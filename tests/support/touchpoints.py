"""Build domain touchpoints tersely for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.domain.touchpoint import Touchpoint

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def touch(
    event_type: str,
    minute: float,
    *,
    event_id: str | None = None,
    customer: str = "c1",
    product: str | None = "p1",
    channel: str = "web",
    revenue: str | None = None,
    **fields: Any,
) -> Touchpoint:
    """A touchpoint `minute` minutes after T0; the id defaults to type@minute."""
    at = T0 + timedelta(minutes=minute)
    return Touchpoint(
        event_id=event_id or f"{event_type}@{minute}",
        customer_id=customer,
        type=event_type,
        channel=channel,
        occurred_at=at,
        received_at=at,
        product_id=product,
        revenue=None if revenue is None else Decimal(revenue),
        **fields,
    )
