"""Prometheus Alertmanager API v2: POST /api/v2/alerts.

Alertmanager forgets a firing alert that is not re-sent (after its resolve
timeout), so the dispatcher re-sends every active alert periodically; a resolved
alert is sent once more with `endsAt` set to when it was resolved.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from services.aggregator.notifiers.base import OutgoingRequest
from shared.domain.alerts import AlertStatus
from shared.schemas.alert_event import AlertEvent, AlertView


def labels(alert: AlertView) -> dict[str, str]:
    found = {
        "alertname": alert.rule,
        "severity": alert.severity.value,
        "journeymap_alert_id": str(alert.id),
        "customer_id": alert.customer_id or "",
        "product_id": alert.product_id or "",
    }
    return {name: value for name, value in found.items() if value}


def am_alert(alert: AlertView) -> dict[str, object]:
    body: dict[str, object] = {
        "labels": labels(alert),
        "annotations": {
            "summary": alert.summary,
            "description": f"{alert.occurrences} occurrence(s); status {alert.status.value}",
            "map_url": alert.map_url,
        },
        "startsAt": alert.first_seen_at.isoformat(),
        "generatorURL": alert.map_url,
    }
    if alert.status is AlertStatus.RESOLVED and alert.resolved_at is not None:
        body["endsAt"] = alert.resolved_at.isoformat()
    return body


class AlertmanagerNotifier:
    def __init__(self, name: str, url: str, timeout_seconds: float) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._url = url.rstrip("/") + "/api/v2/alerts"

    def request(self, event: AlertEvent, delivery_id: int, now_epoch: float) -> OutgoingRequest:
        return self.batch([event.alert])

    def batch(self, alerts: Sequence[AlertView]) -> OutgoingRequest:
        body = orjson.dumps([am_alert(alert) for alert in alerts])
        return OutgoingRequest(self._url, body, {"Content-Type": "application/json"})
