"""What the friction rules remember about one customer between touchpoints.

Windowed rules (errors, service contacts, checkouts) read their events from the stored
touchpoints (`Evidence`), so the memory here is bounded: per journey its progress, and
per product the latest score and the latest clear-cut sentiment by event time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Progress:
    """A journey's furthest stage, when it was reached, and whether it converted."""

    stage: str | None = None
    entered_at: datetime | None = None
    converted: bool = False


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest deciding event of a state rule (by event time, then id): bad or not."""

    at: datetime
    event_id: str
    bad: bool

    def older_than(self, at: datetime, event_id: str) -> bool:
        return (self.at, self.event_id) < (at, event_id)


@dataclass(slots=True)
class CustomerFriction:
    customer_id: str
    journeys: dict[str, Progress] = field(default_factory=dict)
    # Keyed by product id ("" for none): the detractor and negative sentiment rules.
    scores: dict[str, Latest] = field(default_factory=dict)
    sentiments: dict[str, Latest] = field(default_factory=dict)
