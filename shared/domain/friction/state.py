"""What the friction rules remember about one customer between touchpoints."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Contact:
    at: datetime
    event_id: str
    channel: str
    product_id: str | None = None


@dataclass(slots=True)
class Progress:
    """A journey's furthest stage, when it was reached, and whether it converted."""

    stage: str | None = None
    entered_at: datetime | None = None
    converted: bool = False


@dataclass(slots=True)
class CustomerFriction:
    customer_id: str
    support: list[Contact] = field(default_factory=list)  # by time
    errors: list[Contact] = field(default_factory=list)  # by time
    journeys: dict[str, Progress] = field(default_factory=dict)

    def remember(self, contacts: list[Contact], contact: Contact, keep: timedelta) -> None:
        """Add a contact in time order; forget those older than `keep` before the newest."""
        bisect.insort(contacts, contact, key=lambda c: (c.at, c.event_id))
        horizon = contacts[-1].at - keep
        while contacts and contacts[0].at < horizon:
            contacts.pop(0)
