"""A generic JSON webhook, signed with HMAC-SHA256 so receivers can verify it.

Headers: `X-Journeymap-Event` (the change), `X-Journeymap-Delivery` (the delivery id,
the same on every retry, for idempotent receivers), `X-Journeymap-Timestamp` (unix
seconds) and `X-Journeymap-Signature: sha256=<hex>`, the HMAC of
`<timestamp>.<body>` with the shared secret.
"""

from __future__ import annotations

import hashlib
import hmac

import orjson

from services.aggregator.notifiers.base import OutgoingRequest
from shared.schemas.alert_event import AlertEvent


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookNotifier:
    def __init__(self, name: str, url: str, secret: str | None, timeout_seconds: float) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._url = url
        self._secret = secret.encode() if secret else None

    def request(self, event: AlertEvent, delivery_id: int, now_epoch: float) -> OutgoingRequest:
        body = orjson.dumps(event.model_dump(mode="json"))
        timestamp = str(int(now_epoch))
        headers = {
            "Content-Type": "application/json",
            "X-Journeymap-Event": event.event.value,
            "X-Journeymap-Delivery": str(delivery_id),
            "X-Journeymap-Timestamp": timestamp,
        }
        if self._secret is not None:
            headers["X-Journeymap-Signature"] = signature(self._secret, timestamp, body)
        return OutgoingRequest(self._url, body, headers)
