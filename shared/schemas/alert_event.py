"""An alert as notifiers and the API see it: the outbox payload of every change."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from pydantic import BaseModel, Field

from shared.domain.alerts import Alert, AlertStatus, Change, Severity


class AlertView(BaseModel):
    id: int
    dedup_key: str
    rule: str
    scope: str | None = Field(description="For systemic friction: the rule that fired widely.")
    customer_id: str | None
    product_id: str | None
    severity: Severity
    status: AlertStatus
    summary: str
    first_seen_at: datetime = Field(description="Event time of the first occurrence.")
    last_seen_at: datetime
    occurrences: int
    touchpoints: list[str] = Field(description="Ids of the touchpoints that triggered it.")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="A person, or 'condition' when it cleared.")
    resolution_note: str | None
    backfill: bool = Field(
        description="Raised by events older than the paging horizon: recorded, not delivered."
    )
    map_url: str = Field(description="The journey or experience map this alert is about.")


class AlertEvent(BaseModel):
    """What notifiers receive: the change and the alert right after it."""

    event: Change
    alert: AlertView


def map_url(base_url: str, alert: Alert) -> str:
    if alert.customer_id is None:
        return f"{base_url}/v1/products/{quote(alert.product_id or '', safe='')}/funnel"
    customer = quote(alert.customer_id, safe="")
    if alert.product_id is None:
        return f"{base_url}/v1/customers/{customer}/experience"
    return f"{base_url}/v1/customers/{customer}/journeys/{quote(alert.product_id, safe='')}"


def alert_view(alert: Alert, base_url: str) -> AlertView:
    if alert.id is None:
        raise ValueError("an alert gets its id when stored")
    return AlertView(
        id=alert.id,
        dedup_key=alert.key,
        rule=alert.rule,
        scope=alert.scope,
        customer_id=alert.customer_id,
        product_id=alert.product_id,
        severity=alert.severity,
        status=alert.status,
        summary=alert.summary,
        first_seen_at=alert.first_seen,
        last_seen_at=alert.last_seen,
        occurrences=alert.occurrences,
        touchpoints=list(alert.touchpoints),
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        resolution_note=alert.resolution_note,
        backfill=alert.backfill,
        map_url=map_url(base_url, alert),
    )
