"""A batch of touchpoints, or a timer tick, applied to what it read: pure, no I/O.

`apply_batch` takes the `Snapshot` the unit of work loaded and returns the `Changes`
to save, but for the alerts: those its rules' signals name are read next (exactly
those, locked: a customer's alert history grows without bound, and a superset cost
an event more the longer its customer had been around), and `settle_alerts` applies
the signals to them. In order, as the log is read:
1. maps: new touchpoints fold into their journeys and experiences; a journey that got
   a late touchpoint, and every map of a customer who absorbed an anonymous history,
   is built again from all its touchpoints; each changed journey's old contribution to
   the product figures is replaced by its new one, and its timeout re-armed;
2. friction: the rules run over the batch in log order, advancing each partition's
   watermark and firing the timers it passes; their signals (settled by
   `settle_alerts`) open, fold and clear alerts, and the firings count towards
   systemic friction;
3. expiry: journeys whose timeout the watermarks passed are abandoned;
4. hotspots: the new touchpoints and the opened alerts count where they happened.

The snapshot's states are folded in place: copying them cost more than the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.domain import experience, journey
from shared.domain.alerts import Alert, AlertBook, Change, Raise, Signal
from shared.domain.experience import ExperienceState
from shared.domain.experience_stats import (
    ALERT,
    HotspotFigures,
    HotspotKey,
    hotspot_key,
    touchpoint_figures,
)
from shared.domain.fold import fold
from shared.domain.friction.config import SYSTEMIC_FRICTION, FrictionRules
from shared.domain.friction.engine import FrictionEngine
from shared.domain.friction.rules import closed_stalls
from shared.domain.friction.state import CustomerFriction
from shared.domain.friction.systemic import (
    Firing,
    count_firings,
    firings,
    systemic_key,
    systemic_signals,
)
from shared.domain.friction.timers import Timer, TimerBook
from shared.domain.instances import build_instances
from shared.domain.journey import JourneyState, JourneyStep
from shared.domain.journey_stats import (
    Contribution,
    ProductTouchKey,
    TouchFigures,
    TouchKey,
    figures_change,
    funnel_facts,
)
from shared.domain.stages import StageCatalogue
from shared.domain.stored import (
    InstanceKey,
    JourneyKey,
    JourneyRow,
    StoredExperience,
    StoredJourney,
    Timeout,
    instance_key,
)
from shared.domain.touchpoint import Touchpoint


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    catalogue: StageCatalogue
    window: timedelta  # a journey's inactivity window
    rules: FrictionRules
    negative_sentiment_max: float
    # Most journeys one batch or tick abandons; the rest follow in the next ones.
    expired_per_batch: int = 2000


@dataclass(frozen=True, slots=True)
class Observed:
    """A touchpoint as the log delivered it; `new` for the first copy never stored."""

    partition: int
    touchpoint: Touchpoint
    new: bool


@dataclass(frozen=True, slots=True)
class Work:
    """What a batch (or a tick) brings."""

    stream: Sequence[Observed] = ()  # in log order; empty for a tick
    rebuild: frozenset[str] = frozenset()  # customers who absorbed an anonymous history
    retired: frozenset[str] = frozenset()  # the anonymous ids they absorbed
    advance: Mapping[int, datetime] = field(default_factory=dict)  # a tick's watermarks
    # Each customer's partition where the stream does not tell (for journey timeouts).
    home: Mapping[str, int] = field(default_factory=dict)

    @property
    def new(self) -> list[Touchpoint]:
        return [o.touchpoint for o in self.stream if o.new]


@dataclass(slots=True)
class Snapshot:
    """Everything a batch reads, as loaded."""

    watermarks: dict[int, datetime] = field(default_factory=dict)
    # The latest instance of each journey the batch folds into.
    latest: dict[JourneyKey, StoredJourney] = field(default_factory=dict)
    experiences: dict[str, StoredExperience] = field(default_factory=dict)
    # Journeys built again: every stored instance, and every touchpoint.
    old_journeys: dict[InstanceKey, StoredJourney] = field(default_factory=dict)
    journey_histories: dict[JourneyKey, list[Touchpoint]] = field(default_factory=dict)
    customer_histories: dict[str, list[Touchpoint]] = field(default_factory=dict)
    friction: dict[str, CustomerFriction] = field(default_factory=dict)
    timers: list[Timer] = field(default_factory=list)
    evidence: list[Touchpoint] = field(default_factory=list)
    # Journey timeouts the watermarks passed, with their journeys.
    due: list[Timeout] = field(default_factory=list)
    due_journeys: dict[InstanceKey, StoredJourney] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Triggered:
    """An alert opened: for the metrics, and for the hotspots (its first touchpoint)."""

    rule: str
    severity: str
    touchpoint: str | None
    backfill: bool = False


@dataclass(slots=True)
class Changes:
    """Everything to save, and the versions read, which the save checks."""

    journeys: list[JourneyRow] = field(default_factory=list)
    journeys_read: dict[InstanceKey, int] = field(default_factory=dict)
    deleted_journeys: set[InstanceKey] = field(default_factory=set)
    steps: dict[InstanceKey, list[JourneyStep]] = field(default_factory=dict)
    # Journeys, and customers' journeys, whose stored steps are all replaced.
    steps_replaced: set[JourneyKey] = field(default_factory=set)
    customers_replaced: set[str] = field(default_factory=set)
    experiences: list[ExperienceState] = field(default_factory=list)
    experiences_read: dict[str, int] = field(default_factory=dict)
    touch_figures: dict[ProductTouchKey, TouchFigures] = field(default_factory=dict)
    timeouts_armed: list[Timeout] = field(default_factory=list)
    timeouts_removed: set[JourneyKey] = field(default_factory=set)
    # Stored timeouts taken: removed only as read (another writer may re-arm one).
    timeouts_taken: list[Timeout] = field(default_factory=list)
    friction: dict[str, CustomerFriction] = field(default_factory=dict)
    timers: TimerBook = field(default_factory=TimerBook)
    signals: list[Signal] = field(default_factory=list)  # for `settle_alerts`
    alerts: AlertBook = field(default_factory=AlertBook)
    firings: list[Firing] = field(default_factory=list)
    hotspots: dict[HotspotKey, HotspotFigures] = field(default_factory=dict)
    # Alerts opened at touchpoints the snapshot does not hold: counted where those are.
    alerts_at: list[str] = field(default_factory=list)
    products: set[str] = field(default_factory=set)  # whose figures changed
    watermarks: dict[int, datetime] = field(default_factory=dict)
    triggered: list[Triggered] = field(default_factory=list)
    rebuilt_journeys: int = 0


def watermarks_after(
    stored: Mapping[int, datetime], work: Work, lateness: timedelta
) -> dict[int, datetime]:
    """Each partition's watermark once the batch is read: the largest event time seen
    minus the allowed lateness (or the tick's), never moving back."""
    marks = dict(stored)
    reached = [(o.partition, o.touchpoint.occurred_at - lateness) for o in work.stream]
    for partition, mark in [*reached, *work.advance.items()]:
        if partition not in marks or mark > marks[partition]:
            marks[partition] = mark
    return marks


def apply_batch(snapshot: Snapshot, work: Work, policy: BatchPolicy) -> Changes:
    changes = Changes(watermarks=dict(snapshot.watermarks))
    journeys = _apply_maps(snapshot, work, policy, changes)
    _apply_friction(snapshot, work, policy, changes, journeys)
    if work.stream or work.advance:
        _expire(snapshot, policy, changes)
    _count_hotspots(work.new, policy, changes)
    return changes


def rebuild_customers(snapshot: Snapshot, work: Work, policy: BatchPolicy) -> Changes:
    """Only the maps of `work.rebuild`, from their histories: for `rebuild-maps`."""
    changes = Changes()
    _apply_maps(snapshot, work, policy, changes)
    return changes


def expire_due(
    snapshot: Snapshot, watermarks: Mapping[int, datetime], policy: BatchPolicy
) -> Changes:
    """Only the expiry of the snapshot's due journeys: for `rebuild-maps`."""
    changes = Changes(watermarks=dict(watermarks))
    _expire(snapshot, policy, changes)
    return changes


def _apply_maps(
    snapshot: Snapshot, work: Work, policy: BatchPolicy, changes: Changes
) -> dict[JourneyKey, list[JourneyState]]:
    """Journeys, steps, experiences, figures and timeouts; returns the batch's journeys
    as they now are, instance by instance (for the stall check)."""
    catalogue, window = policy.catalogue, policy.window
    folding = [t for t in work.new if t.customer_id not in work.rebuild]
    read = {instance_key(s.state): s for s in snapshot.latest.values()}
    # The figures need the journeys as read: folding changes them in place.
    before = {
        key: Contribution(journey.snapshot(s.state), s.abandoned_at is not None)
        for key, s in read.items()
    }
    update = fold(
        folding,
        {key: s.state for key, s in snapshot.latest.items()},
        {customer: e.state for customer, e in snapshot.experiences.items()},
        catalogue,
        window,
    )
    states = dict(update.journeys)
    steps = dict(update.steps)
    over = set(update.followed)
    built: set[InstanceKey] = set()
    experiences = dict(update.experiences)
    late = update.journeys_to_rebuild
    if late - snapshot.journey_histories.keys():
        raise ValueError(f"late journeys loaded without their touchpoints: {sorted(late)}")
    if late or work.rebuild or work.retired:
        for key, stored in snapshot.old_journeys.items():
            read.setdefault(key, stored)
            before.setdefault(key, Contribution(stored.state, stored.abandoned_at is not None))
        histories = {key: snapshot.journey_histories[key] for key in late}
        histories.update(_by_journey(snapshot.customer_histories))
        for (customer, product), touchpoints in histories.items():
            paths = build_instances(customer, product, touchpoints, catalogue, window)
            for path in paths:
                states[instance_key(path.state)] = path.state
                steps[instance_key(path.state)] = path.steps
                built.add(instance_key(path.state))
            over |= {instance_key(path.state) for path in paths[:-1]}
        changes.deleted_journeys = {key for key in snapshot.old_journeys if key not in states}
        for customer, touchpoints in snapshot.customer_histories.items():
            experiences[customer] = experience.build(customer, touchpoints, catalogue)
    rows = [_row(state, key in over, policy) for key, state in states.items()]
    after = {
        instance_key(row.state): Contribution(row.state, row.abandoned_at is not None)
        for row in rows
    }
    for key in states.keys() | changes.deleted_journeys:
        appended = None if key in built else steps.get(key)
        _add(
            changes.touch_figures, key[1], figures_change(before.get(key), after.get(key), appended)
        )
    changes.journeys = rows
    changes.journeys_read = {key: stored.version for key, stored in read.items()}
    changes.steps = steps
    changes.steps_replaced = set(late)
    changes.customers_replaced = set(work.rebuild | work.retired)
    changes.experiences = list(experiences.values())
    changes.experiences_read = {c: e.version for c, e in snapshot.experiences.items()}
    changes.rebuilt_journeys = len(late)
    changes.products = {key[1] for key in states.keys() | changes.deleted_journeys}
    partition_of = dict(work.home)
    partition_of.update((o.touchpoint.customer_id, o.partition) for o in work.stream)
    _rearm(rows, changes, partition_of, window)
    return _by_product(states.values())


def _rearm(
    rows: Iterable[JourneyRow],
    changes: Changes,
    partition_of: Mapping[str, int],
    window: timedelta,
) -> None:
    """Each journey's latest instance gets a timeout unless it converted."""
    latest: dict[JourneyKey, JourneyState] = {}
    for row in rows:
        key = (row.state.customer_id, row.state.product_id)
        if key not in latest or row.state.instance > latest[key].instance:
            latest[key] = row.state
    gone = {(c, p) for c, p, _ in changes.deleted_journeys} - latest.keys()
    changes.timeouts_removed = gone | {key for key, s in latest.items() if s.converted}
    changes.timeouts_armed = [
        Timeout(
            state.customer_id,
            state.product_id,
            state.instance,
            partition_of.get(state.customer_id, 0),
            state.last_event_at + window,
        )
        for state in latest.values()
        if not state.converted and state.last_event_at is not None
    ]


def _apply_friction(
    snapshot: Snapshot,
    work: Work,
    policy: BatchPolicy,
    changes: Changes,
    journeys: Mapping[JourneyKey, Sequence[JourneyState]],
) -> None:
    """The rules in log order, the timers the watermarks pass, the stalls late events
    reveal: their signals, for `settle_alerts`."""
    rules = policy.rules
    engine = FrictionEngine(rules, policy.catalogue)
    engine.watermarks = dict(snapshot.watermarks)
    engine.customers = snapshot.friction
    engine.evidence.add(snapshot.evidence)
    for timer in snapshot.timers:
        engine.timers.load(timer)
    signals: list[Signal] = []
    if work.stream:
        signals += engine.run((o.partition, o.touchpoint, o.new) for o in work.stream)
        late = {key: journeys[key] for key in engine.late_journeys if key in journeys}
        signals += closed_stalls(late, rules)
    for partition, watermark in sorted(work.advance.items()):
        signals += engine.advance(partition, watermark)
    changes.signals = signals
    changes.friction = engine.customers
    changes.timers = engine.timers
    changes.watermarks = dict(engine.watermarks)


@dataclass(frozen=True, slots=True)
class AlertReads:
    """What settling a batch's signals reads: the alerts of these dedup keys (every
    active systemic alert too), and the firings of each (rule, product) in a range."""

    keys: frozenset[str]
    firings: Mapping[tuple[str, str], tuple[datetime, datetime]]


def alert_reads(changes: Changes, policy: BatchPolicy) -> AlertReads:
    new = firings([s for s in changes.signals if isinstance(s, Raise)])
    window = policy.rules.systemic_window
    ranges: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for firing in new:
        key = (firing.rule, firing.product_id)
        low, high = ranges.get(key, (firing.at, firing.at))
        ranges[key] = (min(low, firing.at), max(high, firing.at))
    keys = {s.key for s in changes.signals}
    keys |= {systemic_key(rule, product) for rule, product in ranges}
    # A stored firing shares a window with a new one within a window either side.
    return AlertReads(
        frozenset(keys),
        {key: (low - window, high + window) for key, (low, high) in ranges.items()},
    )


def settle_alerts(
    changes: Changes,
    alerts: Iterable[Alert],
    remembered: Sequence[Firing],
    held: Iterable[Touchpoint],
    now: datetime,
    policy: BatchPolicy,
) -> None:
    """Apply the batch's signals to the alerts `alert_reads` named, then systemic
    friction over the firings; fills in the alerts, firings, triggered and alert
    hotspots of `changes`. An opened alert counts in the hotspots where its first
    touchpoint is, if `held` (the batch's new touchpoints and evidence) has it."""
    rules = policy.rules
    book = AlertBook()
    for alert in alerts:
        book.load(alert)
    history_before = now - rules.page_within
    for signal in changes.signals:
        book.apply(signal, rules.cooldown, history_before)
    changes.firings = firings([s for s in changes.signals if isinstance(s, Raise)])
    counts = count_firings(remembered, changes.firings, rules.systemic_window)
    systemic = {
        key: book.alerts[handle]
        for key, handle in book.active.items()
        if book.alerts[handle].rule == SYSTEMIC_FRICTION
    }
    furthest = max(changes.watermarks.values(), default=None)
    for signal in systemic_signals(counts, systemic, furthest, rules):
        book.apply(signal, rules.cooldown, history_before)
    changes.alerts = book
    changes.triggered = [
        Triggered(
            n.alert.rule,
            n.alert.severity.value,
            n.alert.touchpoints[0] if n.alert.touchpoints else None,
            n.alert.backfill,
        )
        for n in book.notifications
        if n.change is Change.TRIGGERED
    ]
    wanted = {t.touchpoint for t in changes.triggered if t.touchpoint is not None}
    places = {t.event_id: hotspot_key(t) for t in held if t.event_id in wanted}
    for opened in changes.triggered:
        if opened.touchpoint is None:
            continue
        where = places.get(opened.touchpoint)
        if where is None:
            changes.alerts_at.append(opened.touchpoint)
        else:
            changes.hotspots[where] = changes.hotspots.get(where, HotspotFigures()) + ALERT


def _expire(snapshot: Snapshot, policy: BatchPolicy, changes: Changes) -> None:
    """Abandon the latest journeys whose timeout the partition's watermark passed.

    The batch's own timeouts replace the stored ones of their journeys. A stored
    timeout is taken even when its journey is no longer due by it (the journey moved
    on since): the journey's own timeout replaced it, or will.
    """
    marks = changes.watermarks
    replaced = changes.timeouts_removed | {
        (t.customer_id, t.product_id) for t in changes.timeouts_armed
    }
    candidates = [t for t in snapshot.due if (t.customer_id, t.product_id) not in replaced]
    candidates += [
        t for t in changes.timeouts_armed if t.partition in marks and t.due_at <= marks[t.partition]
    ]
    taken = sorted(candidates, key=lambda t: t.due_at)[: policy.expired_per_batch]
    if not taken:
        return
    rows = {instance_key(row.state): i for i, row in enumerate(changes.journeys)}
    for timeout in taken:
        key = (timeout.customer_id, timeout.product_id, timeout.instance)
        if key[:2] in replaced:
            changes.timeouts_removed.add(key[:2])
        else:
            changes.timeouts_taken.append(timeout)
        if key in rows:
            row = changes.journeys[rows[key]]
            state, abandoned_at = row.state, row.abandoned_at
        elif key in snapshot.due_journeys:
            stored = snapshot.due_journeys[key]
            state, abandoned_at = stored.state, stored.abandoned_at
            changes.journeys_read[key] = stored.version
        else:
            continue
        if not _still_due(state, abandoned_at, timeout.due_at, policy.window):
            continue
        change = figures_change(Contribution(state, False), Contribution(state, True))
        _add(changes.touch_figures, timeout.product_id, change)
        expired = JourneyRow(state, timeout.due_at, funnel_facts(state, policy.catalogue))
        if key in rows:
            changes.journeys[rows[key]] = expired
        else:
            rows[key] = len(changes.journeys)
            changes.journeys.append(expired)
        changes.products.add(timeout.product_id)
    taken_keys = {(t.customer_id, t.product_id) for t in taken}
    changes.timeouts_armed = [
        t for t in changes.timeouts_armed if (t.customer_id, t.product_id) not in taken_keys
    ]


def _still_due(
    state: JourneyState, abandoned_at: datetime | None, due_at: datetime, window: timedelta
) -> bool:
    return (
        abandoned_at is None
        and not state.converted
        and state.last_event_at is not None
        and state.last_event_at + window == due_at
    )


def _count_hotspots(new: Sequence[Touchpoint], policy: BatchPolicy, changes: Changes) -> None:
    for touchpoint in new:
        key = hotspot_key(touchpoint)
        changes.hotspots[key] = changes.hotspots.get(key, HotspotFigures()) + touchpoint_figures(
            touchpoint, policy.negative_sentiment_max
        )


def _row(state: JourneyState, over: bool, policy: BatchPolicy) -> JourneyRow:
    abandoned_at = None
    if over and not state.converted and state.last_event_at is not None:
        abandoned_at = state.last_event_at + policy.window
    return JourneyRow(state, abandoned_at, funnel_facts(state, policy.catalogue))


def _by_journey(histories: Mapping[str, list[Touchpoint]]) -> dict[JourneyKey, list[Touchpoint]]:
    """Customers' touchpoints split by journey (those with a product)."""
    by_journey: dict[JourneyKey, list[Touchpoint]] = {}
    for customer, touchpoints in histories.items():
        for touchpoint in touchpoints:
            if touchpoint.product_id is not None:
                by_journey.setdefault((customer, touchpoint.product_id), []).append(touchpoint)
    return by_journey


def _by_product(states: Iterable[JourneyState]) -> dict[JourneyKey, list[JourneyState]]:
    grouped: dict[JourneyKey, list[JourneyState]] = {}
    for state in sorted(states, key=lambda s: s.instance):
        grouped.setdefault((state.customer_id, state.product_id), []).append(state)
    return grouped


def _add(
    into: dict[ProductTouchKey, TouchFigures], product: str, change: Mapping[TouchKey, TouchFigures]
) -> None:
    for (day, event_type, channel), figures in change.items():
        target = (product, day, event_type, channel)
        total = into.get(target, TouchFigures()) + figures
        if total.empty:
            into.pop(target, None)
        else:
            into[target] = total
