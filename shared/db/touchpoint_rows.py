"""Touchpoint rows as the services read them: the columns and the row to domain value."""

from __future__ import annotations

import asyncpg

from shared.domain.touchpoint import Touchpoint

TOUCHPOINT_COLUMNS = (
    "event_id, customer_id, anonymous_id, identified, type, channel, product_id, "
    "occurred_at, received_at, source, sentiment, nps, csat, revenue"
)


def touchpoint_from_row(row: asyncpg.Record) -> Touchpoint:
    return Touchpoint(
        event_id=row["event_id"],
        customer_id=row["customer_id"],
        anonymous_id=row["anonymous_id"],
        identified=row["identified"],
        type=row["type"],
        channel=row["channel"],
        product_id=row["product_id"],
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        source=row["source"],
        sentiment=row["sentiment"],
        nps=row["nps"],
        csat=row["csat"],
        revenue=row["revenue"],
    )
