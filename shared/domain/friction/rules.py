"""The per-touchpoint friction rules. Each returns signals and arms or removes timers.

Time is the touchpoint's event time. Rules never send anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.domain.alerts import Clear, Raise, Severity, Signal
from shared.domain.friction import config
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.evidence import Evidence
from shared.domain.friction.state import CustomerFriction, Latest, Progress
from shared.domain.friction.timers import Timer, TimerAction, TimerBook, timer_key
from shared.domain.journey import JourneyState
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint
from shared.durations import human_duration


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One new touchpoint, with everything a rule may read or arm."""

    touchpoint: Touchpoint
    partition: int
    state: CustomerFriction
    timers: TimerBook
    rules: FrictionRules
    catalogue: StageCatalogue
    evidence: Evidence
    # Events of this batch that are stored but not evaluated yet: their own turn comes.
    unevaluated: AbstractSet[str] = frozenset()
    # Journeys (customer, product) that got an event older than their progress: the
    # caller checks them for stalls the late event reveals (`closed_stalls`).
    late_journeys: set[tuple[str, str]] = field(default_factory=set)


def checkout_abandoned(ctx: Evaluation) -> list[Signal]:
    """A checkout with no purchase of its product within the window is abandoned.

    A purchase stored already (it arrived first) rules the checkout out; a purchase
    after the window clears the alert, which still happened.
    """
    touchpoint, timers, rules, catalogue = ctx.touchpoint, ctx.timers, ctx.rules, ctx.catalogue
    product, customer, at = touchpoint.product_id, touchpoint.customer_id, touchpoint.occurred_at
    if product is None:
        return []
    key = timer_key(TimerAction.RAISE, config.CHECKOUT_ABANDONED, customer, product)
    purchases = frozenset({catalogue.conversion_type})
    if touchpoint.type == rules.checkout_type:
        due = at + rules.checkout_abandon_after
        if ctx.evidence.between(customer, purchases, at, due, product):
            return []
        pending = timers.get(key)
        if pending is None or due < pending.due_at:
            timers.arm(
                Timer(
                    rule=config.CHECKOUT_ABANDONED,
                    action=TimerAction.RAISE,
                    customer_id=customer,
                    product_id=product,
                    partition=ctx.partition,
                    due_at=due,
                    touchpoints=(touchpoint.event_id,),
                )
            )
        return []
    if touchpoint.type != catalogue.conversion_type:
        return []
    pending = timers.get(key)
    if pending is not None and at < pending.due_at - rules.checkout_abandon_after:
        return []  # bought before that checkout started: it waits for its own purchase
    signals: list[Signal] = []
    if pending is not None:
        timers.remove(key)
        if at > pending.due_at:
            # The purchase came, but after the window: the checkout was abandoned first.
            signals.append(fire(pending, rules))
    signals.append(Clear(config.CHECKOUT_ABANDONED, customer, product, at, "the purchase arrived"))
    return signals


@dataclass(frozen=True, slots=True)
class WindowRule:
    """A rule that counts events of some types within a window of event time."""

    name: str
    types: frozenset[str]
    window: timedelta
    per_product: bool  # alerts per product (errors), or per customer (service contacts)
    severity: Callable[[list[Touchpoint]], Severity | None]  # of the events of one window
    summary: Callable[[list[Touchpoint]], str]


def windowed(ctx: Evaluation, rule: WindowRule) -> list[Signal]:
    """Raise for the new event by the events in the window ending at it, and again for any
    later event whose window the new one lifts to a higher severity (it arrived late).

    Every event of the window counts, whatever order they arrived in, so an alert
    reaches the severity the same events give in time order. The alert clears one
    window (plus the allowed lateness) after the customer's last such event.
    """
    touchpoint = ctx.touchpoint
    if touchpoint.type not in rule.types:
        return []
    customer, at = touchpoint.customer_id, touchpoint.occurred_at
    known = ctx.evidence.between(customer, rule.types, at - rule.window, at + rule.window)
    # Events of this batch not evaluated yet count from their own turn on, which lifts
    # what they complete then; counting them twice would repeat raises.
    known = sorted(
        [
            t
            for t in known
            if t.event_id not in ctx.unevaluated and t.event_id != touchpoint.event_id
        ]
        + [touchpoint],
        key=ctx.catalogue.order_key,
    )

    order = ctx.catalogue.order_key

    def window_ending_at(event: Touchpoint, *, without: str = "") -> list[Touchpoint]:
        """The events up to `event` in time order (equal times by their order) within the
        window before it."""
        return [
            t
            for t in known
            if event.occurred_at - rule.window <= t.occurred_at
            and order(t) <= order(event)
            and t.event_id != without
        ]

    signals: list[Signal] = []
    lifted = [
        event
        for event in known
        if order(event) > order(touchpoint)
        and _rank(rule.severity(window_ending_at(event)))
        > _rank(rule.severity(window_ending_at(event, without=touchpoint.event_id)))
    ]
    for event in [touchpoint, *lifted]:
        window = window_ending_at(event)
        severity = rule.severity(window)
        if severity is not None:
            signals.append(
                Raise(
                    rule.name,
                    customer,
                    event.product_id if rule.per_product else None,
                    severity,
                    event.occurred_at,
                    tuple(t.event_id for t in window)[-MAX_WINDOW_TOUCHPOINTS:],
                    rule.summary(window),
                )
            )
    if signals:
        last = max(t.occurred_at for t in known)
        product = touchpoint.product_id if rule.per_product else None
        _arm_clear(ctx, rule.name, product, last + rule.window, rule.window)
    return signals


def _rank(severity: Severity | None) -> int:
    return 0 if severity is None else severity.rank


def _arm_clear(
    ctx: Evaluation, rule: str, product: str | None, quiet_from: datetime, quiet: timedelta
) -> None:
    """Clear the alert once event time passes `quiet_from` by the allowed lateness: what
    arrives within the lateness and would have kept it open in time order is in by then."""
    key = timer_key(TimerAction.CLEAR, rule, ctx.touchpoint.customer_id, product)
    due = quiet_from + ctx.rules.allowed_lateness
    pending = ctx.timers.get(key)
    if pending is not None and pending.due_at >= due:
        return
    ctx.timers.arm(
        Timer(
            rule=rule,
            action=TimerAction.CLEAR,
            customer_id=ctx.touchpoint.customer_id,
            product_id=product,
            partition=ctx.partition,
            due_at=due,
            detail=f"quiet for {human_duration(quiet)}",
        )
    )


MAX_WINDOW_TOUCHPOINTS = 20


def repeated_support(ctx: Evaluation) -> list[Signal]:
    rules = ctx.rules

    def severity(window: list[Touchpoint]) -> Severity | None:
        if len(window) < rules.support_contacts:
            return None
        channels = len({t.channel for t in window})
        if channels >= rules.support_channels_for_critical:
            return rules.support_critical_severity
        return rules.support_severity

    def summary(window: list[Touchpoint]) -> str:
        channels = len({t.channel for t in window})
        return (
            f"{len(window)} service contacts within {human_duration(rules.support_window)} "
            f"across {channels} channel{'s' if channels > 1 else ''}"
        )

    return windowed(
        ctx,
        WindowRule(
            config.REPEATED_SUPPORT,
            ctx.catalogue.support_contact_types,
            rules.support_window,
            per_product=False,
            severity=severity,
            summary=summary,
        ),
    )


def error_touchpoint(ctx: Evaluation) -> list[Signal]:
    rules = ctx.rules

    def severity(window: list[Touchpoint]) -> Severity:
        burst = len(window) >= rules.error_burst
        return rules.error_burst_severity if burst else rules.error_severity

    def summary(window: list[Touchpoint]) -> str:
        if len(window) >= rules.error_burst:
            return (
                f"{len(window)} errors within {human_duration(rules.error_window)}, "
                f"latest {window[-1].type}"
            )
        return f"error touchpoint: {window[-1].type}"

    return windowed(
        ctx,
        WindowRule(
            config.ERROR_TOUCHPOINT,
            ctx.catalogue.error_types,
            rules.error_window,
            per_product=True,
            severity=severity,
            summary=summary,
        ),
    )


def _latest_decides(
    memory: dict[str, Latest],
    touchpoint: Touchpoint,
    bad: bool | None,
    raised: Raise | None,
    clear_reason: str,
    rule: str,
) -> list[Signal]:
    """A state rule: the alert is open while the latest deciding event (by event time) is
    bad. `bad` is None for an event that decides nothing (a neutral sentiment).

    An event older than the latest one still raises if bad (the alert happened), and is
    then cleared at once by the later good one, whatever order they arrived in.
    """
    if bad is None:
        return []
    customer, product, at = touchpoint.customer_id, touchpoint.product_id, touchpoint.occurred_at
    slot = product or ""
    latest = memory.get(slot)
    if latest is None or latest.older_than(at, touchpoint.event_id):
        memory[slot] = Latest(at, touchpoint.event_id, bad)
        if bad:
            return [raised] if raised else []
        return [Clear(rule, customer, product, at, clear_reason)]
    if not bad:
        return []  # a later event decides
    signals: list[Signal] = [raised] if raised else []
    if not latest.bad:
        signals.append(Clear(rule, customer, product, latest.at, f"{clear_reason} later"))
    return signals


def detractor(ctx: Evaluation) -> list[Signal]:
    touchpoint, rules = ctx.touchpoint, ctx.rules
    if touchpoint.nps is None and touchpoint.csat is None:
        return []
    bad_nps = touchpoint.nps is not None and touchpoint.nps <= rules.detractor_nps_max
    bad_csat = touchpoint.csat is not None and touchpoint.csat <= rules.detractor_csat_max
    what = ", ".join(
        part
        for part in (
            f"NPS {touchpoint.nps}" if bad_nps else "",
            f"CSAT {touchpoint.csat}" if bad_csat else "",
        )
        if part
    )
    raised = Raise(
        config.DETRACTOR,
        touchpoint.customer_id,
        touchpoint.product_id,
        rules.detractor_severity,
        touchpoint.occurred_at,
        (touchpoint.event_id,),
        f"detractor: {what}",
    )
    bad = bad_nps or bad_csat
    return _latest_decides(
        ctx.state.scores,
        touchpoint,
        bad,
        raised if bad else None,
        "a better score arrived",
        config.DETRACTOR,
    )


def negative_sentiment(ctx: Evaluation) -> list[Signal]:
    touchpoint, rules = ctx.touchpoint, ctx.rules
    sentiment = touchpoint.sentiment
    if sentiment is None:
        return []
    bad = (
        True
        if sentiment <= rules.negative_sentiment_max
        else False
        if sentiment >= rules.negative_sentiment_clear_min
        else None
    )
    raised = Raise(
        config.NEGATIVE_SENTIMENT,
        touchpoint.customer_id,
        touchpoint.product_id,
        rules.negative_sentiment_severity,
        touchpoint.occurred_at,
        (touchpoint.event_id,),
        f"negative sentiment {sentiment:+.2f} on {touchpoint.type}",
    )
    return _latest_decides(
        ctx.state.sentiments,
        touchpoint,
        bad,
        raised if bad else None,
        "sentiment recovered",
        config.NEGATIVE_SENTIMENT,
    )


def stage_stalled(ctx: Evaluation) -> list[Signal]:
    state, touchpoint, partition, timers, rules, catalogue = (
        ctx.state,
        ctx.touchpoint,
        ctx.partition,
        ctx.timers,
        ctx.rules,
        ctx.catalogue,
    )
    product = touchpoint.product_id
    stage = catalogue.stage_of(touchpoint.type)
    if product is None or stage is None:
        return []
    progress = state.journeys.setdefault(product, Progress())
    at = touchpoint.occurred_at
    if progress.entered_at is not None and at < progress.entered_at:
        ctx.late_journeys.add((touchpoint.customer_id, product))
    moved = progress.stage is None or catalogue.rank(stage) > catalogue.rank(progress.stage)
    converts = touchpoint.type == catalogue.conversion_type and not progress.converted
    entered_earlier = (
        not moved
        and stage == progress.stage
        and progress.entered_at is not None
        and at < progress.entered_at
    )
    if not (moved or converts or entered_earlier):
        return []
    if moved or entered_earlier:
        progress.stage, progress.entered_at = stage, at
    progress.converted = progress.converted or converts
    key = timer_key(TimerAction.RAISE, config.STAGE_STALLED, touchpoint.customer_id, product)
    stalled = timers.remove(key)
    # Progress after the limit: the journey did stall first (as a checkout abandoned).
    signals = (
        [fire(stalled, rules)] if stalled and not entered_earlier and at > stalled.due_at else []
    )
    limit = rules.stall_after.get(progress.stage or "")
    if limit is not None and not progress.converted and progress.entered_at is not None:
        timers.arm(
            Timer(
                rule=config.STAGE_STALLED,
                action=TimerAction.RAISE,
                customer_id=touchpoint.customer_id,
                product_id=product,
                partition=partition,
                due_at=progress.entered_at + limit,
                touchpoints=(touchpoint.event_id,),
                detail=f"no progress past {progress.stage} for {human_duration(limit)}",
            )
        )
    if entered_earlier and not converts:
        return []
    return [
        *signals,
        Clear(
            config.STAGE_STALLED,
            touchpoint.customer_id,
            product,
            at,
            f"progress: {'converted' if converts else 'moved to ' + stage}",
        ),
    ]


def closed_stalls(
    journeys: Mapping[tuple[str, str], Sequence[JourneyState]], rules: FrictionRules
) -> list[Signal]:
    """The stalls a rebuilt journey shows, each raised and cleared.

    A late event can reveal a stall the timers never saw: a product view arriving after
    the purchase it preceded by weeks. Every stage a journey stayed in longer than its
    limit before moving on or converting raised a stall in time order.
    """
    signals: list[Signal] = []
    for (customer, product), instances in journeys.items():
        for state in instances:
            moves = state.transitions
            for n, move in enumerate(moves):
                limit = rules.stall_after.get(move.to_stage)
                if state.converted_at is not None and move.at >= state.converted_at:
                    break  # a converted journey does not stall
                ends = [m.at for m in moves[n + 1 : n + 2]]
                if state.converted_at is not None and state.converted_at >= move.at:
                    ends.append(state.converted_at)
                if limit is None or not ends or min(ends) <= move.at + limit:
                    continue
                due = move.at + limit
                signals += [
                    Raise(config.STAGE_STALLED, customer, product, rules.stall_severity, due,
                          (move.event_id,),
                          f"no progress past {move.to_stage} for {human_duration(limit)}"),
                    Clear(config.STAGE_STALLED, customer, product, min(ends),
                          "progress (a late event showed the stall)"),
                ]  # fmt: skip
    return signals


PER_TOUCHPOINT = (
    checkout_abandoned,
    repeated_support,
    detractor,
    negative_sentiment,
    error_touchpoint,
    stage_stalled,
)


def on_due(
    timer: Timer, rules: FrictionRules, catalogue: StageCatalogue, evidence: Evidence
) -> list[Signal]:
    """The signals of a timer the watermark passed, with what stored events say of it.

    A checkout whose purchase is stored already (it arrived before the checkout, past
    the window) raises and clears at once: the alert happened and is over.
    """
    if timer.rule != config.CHECKOUT_ABANDONED:
        return [fire(timer, rules)]
    purchases = evidence.between(
        timer.customer_id,
        frozenset({catalogue.conversion_type}),
        timer.due_at - rules.checkout_abandon_after,
        product_id=timer.product_id,
    )
    if any(p.occurred_at <= timer.due_at for p in purchases):
        return []  # bought within the window after all
    if not purchases:
        return [fire(timer, rules)]
    return [
        fire(timer, rules),
        Clear(
            timer.rule,
            timer.customer_id,
            timer.product_id,
            purchases[0].occurred_at,
            "the purchase arrived (before this late checkout did)",
        ),
    ]


def fire(timer: Timer, rules: FrictionRules) -> Signal:
    """The signal of a timer whose due time the watermark passed."""
    if timer.action is TimerAction.CLEAR:
        return Clear(timer.rule, timer.customer_id, timer.product_id, timer.due_at, timer.detail)
    if timer.rule == config.CHECKOUT_ABANDONED:
        severity, summary = (
            rules.checkout_severity,
            f"checkout started, no purchase within {human_duration(rules.checkout_abandon_after)}",
        )
    else:
        severity, summary = rules.stall_severity, timer.detail
    return Raise(
        timer.rule,
        timer.customer_id,
        timer.product_id,
        severity,
        timer.due_at,
        timer.touchpoints,
        summary,
    )
