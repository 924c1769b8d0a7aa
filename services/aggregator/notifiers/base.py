"""What every notifier does: turn an alert change into one HTTP request, judge the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from shared.schemas.alert_event import AlertEvent


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # the receiver may accept it later (down, overloaded, rate limited)
    REJECTED = "rejected"  # the receiver refuses it for good


def judge(status_code: int) -> Verdict:
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code in (408, 425, 429) or status_code >= 500:
        return Verdict.RETRY
    return Verdict.REJECTED


class Notifier(Protocol):
    name: str
    timeout_seconds: float

    def request(self, event: AlertEvent, delivery_id: int, now_epoch: float) -> OutgoingRequest:
        """The HTTP POST that delivers `event`."""
        ...
