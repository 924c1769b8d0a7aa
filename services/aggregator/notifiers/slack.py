"""A Slack-compatible incoming webhook: `text` for notifications, `blocks` for the channel."""

from __future__ import annotations

import orjson

from services.aggregator.notifiers.base import OutgoingRequest
from shared.schemas.alert_event import AlertEvent

ICONS = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


class SlackNotifier:
    def __init__(self, name: str, url: str, timeout_seconds: float) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._url = url

    def request(self, event: AlertEvent, delivery_id: int, now_epoch: float) -> OutgoingRequest:
        alert = event.alert
        who = alert.customer_id or "many customers"
        what = f" / {alert.product_id}" if alert.product_id else ""
        text = (
            f"{ICONS.get(alert.severity.value, '')} [{event.event.value}] {alert.rule} "
            f"for {who}{what}: {alert.summary}"
        )
        fields = [
            f"*Severity*\n{alert.severity.value}",
            f"*Status*\n{alert.status.value}",
            f"*Occurrences*\n{alert.occurrences}",
            f"*Alert*\n#{alert.id}",
        ]
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{alert.map_url}|Open the map>"}],
            },
        ]
        body = orjson.dumps({"text": text, "blocks": blocks})
        return OutgoingRequest(self._url, body, {"Content-Type": "application/json"})
