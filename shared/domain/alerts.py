"""Friction alerts: what rules signal, and the lifecycle an alert goes through.

Rules never send anything: they return signals. A `Raise` opens an alert or folds
into the open one with the same dedup key (rule + customer + product); a `Clear`
resolves it because the condition went away. People acknowledge and resolve alerts
too. A resolved alert holds off new ones with its key for a cooldown, so a flapping
condition does not page again and again. Every change yields the notification
event to deliver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_RANK = {Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Change(StrEnum):
    """What happened to an alert: the event notifiers are told about."""

    TRIGGERED = "triggered"
    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


def dedup_key(
    rule: str, customer_id: str | None, product_id: str | None, scope: str | None = None
) -> str:
    """rule + customer + product; `scope` tells apart alerts of one rule about another."""
    key = f"{rule}|{customer_id or '*'}|{product_id or '*'}"
    return key if scope is None else f"{key}|{scope}"


@dataclass(frozen=True, slots=True)
class Raise:
    rule: str
    customer_id: str | None
    product_id: str | None
    severity: Severity
    at: datetime
    touchpoints: tuple[str, ...]
    summary: str
    scope: str | None = None

    @property
    def key(self) -> str:
        return dedup_key(self.rule, self.customer_id, self.product_id, self.scope)


@dataclass(frozen=True, slots=True)
class Clear:
    rule: str
    customer_id: str | None
    product_id: str | None
    at: datetime
    reason: str
    scope: str | None = None

    @property
    def key(self) -> str:
        return dedup_key(self.rule, self.customer_id, self.product_id, self.scope)


Signal = Raise | Clear


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    rule: str
    customer_id: str | None
    product_id: str | None
    severity: Severity
    status: AlertStatus
    summary: str
    first_seen: datetime
    last_seen: datetime
    occurrences: int = 1
    touchpoints: tuple[str, ...] = ()
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    suppressed: int = 0
    scope: str | None = None
    # Raised from events older than the paging horizon (a backfill): kept, never paged.
    backfill: bool = False
    id: int | None = None  # assigned by storage

    @property
    def active(self) -> bool:
        return self.status is not AlertStatus.RESOLVED


@dataclass(frozen=True, slots=True)
class ActionNote:
    """A person's acknowledge or resolve, kept in the alert's history."""

    change: Change
    by: str
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """The alert after a signal or action, and the change to notify (None: nothing)."""

    alert: Alert
    change: Change | None
    action: ActionNote | None = None  # set when a person acted


MAX_TOUCHPOINTS = 50


def _merge(old: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    merged = list(dict.fromkeys([*old, *new]))
    return tuple(merged[-MAX_TOUCHPOINTS:])


def _folded(alert: Alert, signal: Raise) -> Alert:
    """`alert` with one more occurrence: the later last seen, the higher severity."""
    escalated = signal.severity.rank > alert.severity.rank
    return replace(
        alert,
        occurrences=alert.occurrences + 1,
        first_seen=min(alert.first_seen, signal.at),
        last_seen=max(alert.last_seen, signal.at),
        severity=signal.severity if escalated else alert.severity,
        summary=signal.summary if escalated else alert.summary,
        touchpoints=_merge(alert.touchpoints, signal.touchpoints),
    )


def on_raise(
    active: Alert | None,
    last_resolved: Alert | None,
    signal: Raise,
    cooldown: timedelta,
    history_before: datetime | None = None,
) -> Transition:
    """Open an alert, fold a repeat into the active one, or hold it off after a resolve.

    A raise whose event time is before the last resolve belongs to the resolved alert's
    past (it arrived late): it folds into it, escalating it if need be, but does not
    reopen it or page anyone: the condition had ended. An alert opened by an event
    older than `history_before` is a backfill: recorded, never paged.
    """
    if active is not None:
        folded = _folded(active, signal)
        return Transition(folded, Change.UPDATED if folded.severity != active.severity else None)
    if last_resolved is not None and last_resolved.resolved_at is not None:
        if signal.at < last_resolved.resolved_at:
            return Transition(_folded(last_resolved, signal), None)
        if signal.at < last_resolved.resolved_at + cooldown:
            return Transition(replace(last_resolved, suppressed=last_resolved.suppressed + 1), None)
    opened = Alert(
        key=signal.key,
        rule=signal.rule,
        customer_id=signal.customer_id,
        product_id=signal.product_id,
        severity=signal.severity,
        status=AlertStatus.OPEN,
        summary=signal.summary,
        first_seen=signal.at,
        last_seen=signal.at,
        touchpoints=_merge((), signal.touchpoints),
        scope=signal.scope,
        backfill=history_before is not None and signal.at < history_before,
    )
    return Transition(opened, Change.TRIGGERED)


def on_clear(active: Alert | None, signal: Clear) -> Transition | None:
    """Resolve the active alert because its condition cleared."""
    if active is None:
        return None
    return Transition(
        replace(
            active,
            status=AlertStatus.RESOLVED,
            resolved_at=signal.at,
            resolved_by="condition",
            resolution_note=signal.reason,
        ),
        Change.RESOLVED,
    )


class InvalidTransition(ValueError):
    pass


def acknowledge(alert: Alert, by: str, note: str | None, at: datetime) -> Transition:
    if alert.status is not AlertStatus.OPEN:
        raise InvalidTransition(
            f"alert {alert.id} is {alert.status.value}; only open alerts can be acknowledged"
        )
    return Transition(
        replace(alert, status=AlertStatus.ACKNOWLEDGED, acknowledged_at=at, acknowledged_by=by),
        Change.ACKNOWLEDGED,
        ActionNote(Change.ACKNOWLEDGED, by, note, at),
    )


def resolve(alert: Alert, by: str, note: str | None, at: datetime) -> Transition:
    if alert.status is AlertStatus.RESOLVED:
        raise InvalidTransition(f"alert {alert.id} is already resolved")
    return Transition(
        replace(
            alert,
            status=AlertStatus.RESOLVED,
            resolved_at=at,
            resolved_by=by,
            resolution_note=note,
        ),
        Change.RESOLVED,
        ActionNote(Change.RESOLVED, by, note, at),
    )


@dataclass(frozen=True, slots=True)
class Notification:
    handle: int  # the alert instance in its AlertBook
    change: Change
    alert: Alert  # the alert as it was right after the change


@dataclass(slots=True)
class AlertBook:
    """The alerts one unit of work touches, and the changes it made to them.

    Alert instances are addressed by handle (their index in `alerts`): a dedup key
    can have a resolved alert and, after the cooldown, a new one.
    """

    alerts: list[Alert] = field(default_factory=list)
    active: dict[str, int] = field(default_factory=dict)
    last_resolved: dict[str, int] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)
    notifications: list[Notification] = field(default_factory=list)

    def load(self, alert: Alert) -> None:
        handle = self._add(alert)
        if alert.active:
            self.active[alert.key] = handle
        else:
            self.last_resolved[alert.key] = handle

    def _add(self, alert: Alert) -> int:
        self.alerts.append(alert)
        return len(self.alerts) - 1

    def _get(self, index: dict[str, int], key: str) -> Alert | None:
        handle = index.get(key)
        return None if handle is None else self.alerts[handle]

    def apply(
        self, signal: Signal, cooldown: timedelta, history_before: datetime | None = None
    ) -> Change | None:
        active = self._get(self.active, signal.key)
        transition: Transition | None
        if isinstance(signal, Raise):
            resolved = self._get(self.last_resolved, signal.key)
            transition = on_raise(active, resolved, signal, cooldown, history_before)
        else:
            transition = on_clear(active, signal)
        if transition is None:
            return None
        alert = transition.alert
        if active is not None:
            handle = self.active[signal.key]
        elif alert.status is AlertStatus.RESOLVED:  # a raise held off by the cooldown
            handle = self.last_resolved[signal.key]
        else:
            handle = self._add(alert)
        self.alerts[handle] = alert
        self.dirty.add(handle)
        if alert.active:
            self.active[signal.key] = handle
        else:
            self.active.pop(signal.key, None)
            self.last_resolved[signal.key] = handle
        if transition.change is not None:
            self.notifications.append(Notification(handle, transition.change, alert))
        return transition.change
