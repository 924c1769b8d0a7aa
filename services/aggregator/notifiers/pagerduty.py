"""PagerDuty Events API v2: trigger, acknowledge and resolve share one dedup_key per alert."""

from __future__ import annotations

import orjson

from services.aggregator.notifiers.base import OutgoingRequest
from shared.domain.alerts import Change
from shared.schemas.alert_event import AlertEvent

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"

ACTIONS = {
    Change.TRIGGERED: "trigger",
    Change.UPDATED: "trigger",  # PagerDuty folds a re-trigger into the open incident
    Change.ACKNOWLEDGED: "acknowledge",
    Change.RESOLVED: "resolve",
}


def pagerduty_dedup_key(alert_id: int) -> str:
    return f"journeymap-alert-{alert_id}"


class PagerDutyNotifier:
    def __init__(self, name: str, url: str, routing_key: str, timeout_seconds: float) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._url = url or EVENTS_URL
        self._routing_key = routing_key

    def request(self, event: AlertEvent, delivery_id: int, now_epoch: float) -> OutgoingRequest:
        alert = event.alert
        message: dict[str, object] = {
            "routing_key": self._routing_key,
            "event_action": ACTIONS[event.event],
            "dedup_key": pagerduty_dedup_key(alert.id),
        }
        if message["event_action"] == "trigger":
            message["payload"] = {
                "summary": f"{alert.rule}: {alert.summary}"[:1024],
                "source": "journeymap",
                "severity": alert.severity.value,
                "timestamp": alert.last_seen_at.isoformat(),
                "component": alert.product_id or "customer-experience",
                "group": alert.rule,
                "custom_details": {
                    "customer_id": alert.customer_id,
                    "product_id": alert.product_id,
                    "occurrences": alert.occurrences,
                    "touchpoints": alert.touchpoints,
                },
            }
            message["links"] = [{"href": alert.map_url, "text": "journeymap map"}]
        body = orjson.dumps(message)
        return OutgoingRequest(self._url, body, {"Content-Type": "application/json"})
