"""Durable timers for rules that fire on absence ("no purchase within 30 minutes").

A timer belongs to the log partition of the event that armed it, and fires when that
partition's watermark passes its due time. The book tracks what a unit of work
armed and removed, so storage can write exactly those rows.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.domain.alerts import dedup_key


class TimerAction(StrEnum):
    RAISE = "raise"  # the awaited event did not come: raise the alert
    CLEAR = "clear"  # the condition aged out: clear the alert


@dataclass(frozen=True, slots=True)
class Timer:
    rule: str
    action: TimerAction
    customer_id: str
    product_id: str | None
    partition: int
    due_at: datetime
    touchpoints: tuple[str, ...] = ()
    detail: str = ""

    @property
    def key(self) -> str:
        return f"{self.action.value}:{dedup_key(self.rule, self.customer_id, self.product_id)}"


def timer_key(action: TimerAction, rule: str, customer_id: str, product_id: str | None) -> str:
    return f"{action.value}:{dedup_key(rule, customer_id, product_id)}"


@dataclass(slots=True)
class TimerBook:
    pending: dict[str, Timer] = field(default_factory=dict)
    armed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    # Per partition, (due, key) entries; stale ones are skipped when popped.
    _queues: dict[int, list[tuple[datetime, str]]] = field(default_factory=dict)

    def load(self, timer: Timer) -> None:
        self.pending[timer.key] = timer
        self._enqueue(timer)

    def _enqueue(self, timer: Timer) -> None:
        heapq.heappush(self._queues.setdefault(timer.partition, []), (timer.due_at, timer.key))

    def get(self, key: str) -> Timer | None:
        return self.pending.get(key)

    def arm(self, timer: Timer) -> None:
        """Set (or move) the timer with this key."""
        self.pending[timer.key] = timer
        self.armed.add(timer.key)
        self.removed.discard(timer.key)
        self._enqueue(timer)

    def remove(self, key: str) -> Timer | None:
        timer = self.pending.pop(key, None)
        if timer is not None:
            self.armed.discard(key)
            self.removed.add(key)
        return timer

    def pop_due(self, partition: int, watermark: datetime) -> Timer | None:
        """Remove and return the partition's earliest timer due by the watermark."""
        queue = self._queues.get(partition, [])
        while queue and queue[0][0] <= watermark:
            due_at, key = heapq.heappop(queue)
            timer = self.pending.get(key)
            if timer is not None and timer.due_at == due_at and timer.partition == partition:
                self.remove(key)
                return timer
        return None
