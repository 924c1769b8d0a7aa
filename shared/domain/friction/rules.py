"""The per-touchpoint friction rules. Each returns signals and arms or removes timers.

Time is the touchpoint's event time. Rules never send anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.alerts import Clear, Raise, Signal
from shared.domain.friction import config
from shared.domain.friction.config import FrictionRules
from shared.domain.friction.state import Contact, CustomerFriction, Progress
from shared.domain.friction.timers import Timer, TimerAction, TimerBook, timer_key
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


def checkout_abandoned(ctx: Evaluation) -> list[Signal]:
    touchpoint, partition, timers, rules, catalogue = (
        ctx.touchpoint,
        ctx.partition,
        ctx.timers,
        ctx.rules,
        ctx.catalogue,
    )
    product = touchpoint.product_id
    if product is None:
        return []
    key = timer_key(TimerAction.RAISE, config.CHECKOUT_ABANDONED, touchpoint.customer_id, product)
    if touchpoint.type == rules.checkout_type:
        if timers.get(key) is None:
            timers.arm(
                Timer(
                    rule=config.CHECKOUT_ABANDONED,
                    action=TimerAction.RAISE,
                    customer_id=touchpoint.customer_id,
                    product_id=product,
                    partition=partition,
                    due_at=touchpoint.occurred_at + rules.checkout_abandon_after,
                    touchpoints=(touchpoint.event_id,),
                )
            )
        return []
    if touchpoint.type != catalogue.conversion_type:
        return []
    signals: list[Signal] = []
    pending = timers.remove(key)
    if pending is not None and touchpoint.occurred_at > pending.due_at:
        # The purchase came, but after the window: the checkout was abandoned first.
        signals.append(fire(pending, rules))
    signals.append(
        Clear(
            config.CHECKOUT_ABANDONED,
            touchpoint.customer_id,
            product,
            touchpoint.occurred_at,
            "the purchase arrived",
        )
    )
    return signals


def repeated_support(ctx: Evaluation) -> list[Signal]:
    state, touchpoint, partition, timers, rules, catalogue = (
        ctx.state,
        ctx.touchpoint,
        ctx.partition,
        ctx.timers,
        ctx.rules,
        ctx.catalogue,
    )
    if not catalogue.is_support_contact(touchpoint.type):
        return []
    contact = Contact(touchpoint.occurred_at, touchpoint.event_id, touchpoint.channel)
    state.remember(state.support, contact, rules.support_window * 2)
    window = _busiest_window(state.support, contact, rules)
    if len(window) < rules.support_contacts:
        return []
    channels = len({c.channel for c in window})
    critical = channels >= rules.support_channels_for_critical
    timers.arm(
        Timer(
            rule=config.REPEATED_SUPPORT,
            action=TimerAction.CLEAR,
            customer_id=touchpoint.customer_id,
            product_id=None,
            partition=partition,
            due_at=max(c.at for c in window) + rules.support_window,
            detail=f"no service contact for {human_duration(rules.support_window)}",
        )
    )
    return [
        Raise(
            config.REPEATED_SUPPORT,
            touchpoint.customer_id,
            None,
            rules.support_critical_severity if critical else rules.support_severity,
            touchpoint.occurred_at,
            tuple(c.event_id for c in window),
            f"{len(window)} service contacts within {human_duration(rules.support_window)} "
            f"across {channels} channel{'s' if channels > 1 else ''}",
        )
    ]


def _busiest_window(
    contacts: list[Contact], contact: Contact, rules: FrictionRules
) -> list[Contact]:
    """The contacts of the fullest support window that contains `contact`."""
    best: list[Contact] = []
    for start in contacts:
        if not (contact.at - rules.support_window <= start.at <= contact.at):
            continue
        window = [c for c in contacts if start.at <= c.at <= start.at + rules.support_window]
        if len(window) > len(best):
            best = window
    return best


def detractor(ctx: Evaluation) -> list[Signal]:
    touchpoint, rules = ctx.touchpoint, ctx.rules
    scores = [s for s in (touchpoint.nps, touchpoint.csat) if s is not None]
    if not scores:
        return []
    bad_nps = touchpoint.nps is not None and touchpoint.nps <= rules.detractor_nps_max
    bad_csat = touchpoint.csat is not None and touchpoint.csat <= rules.detractor_csat_max
    customer, product, at = touchpoint.customer_id, touchpoint.product_id, touchpoint.occurred_at
    if bad_nps or bad_csat:
        what = ", ".join(
            part
            for part in (
                f"NPS {touchpoint.nps}" if bad_nps else "",
                f"CSAT {touchpoint.csat}" if bad_csat else "",
            )
            if part
        )
        return [
            Raise(
                config.DETRACTOR,
                customer,
                product,
                rules.detractor_severity,
                at,
                (touchpoint.event_id,),
                f"detractor: {what}",
            )
        ]
    return [Clear(config.DETRACTOR, customer, product, at, "a better score arrived")]


def negative_sentiment(ctx: Evaluation) -> list[Signal]:
    touchpoint, rules = ctx.touchpoint, ctx.rules
    sentiment = touchpoint.sentiment
    if sentiment is None:
        return []
    customer, product, at = touchpoint.customer_id, touchpoint.product_id, touchpoint.occurred_at
    if sentiment <= rules.negative_sentiment_max:
        return [
            Raise(
                config.NEGATIVE_SENTIMENT,
                customer,
                product,
                rules.negative_sentiment_severity,
                at,
                (touchpoint.event_id,),
                f"negative sentiment {sentiment:+.2f} on {touchpoint.type}",
            )
        ]
    if sentiment >= rules.negative_sentiment_clear_min:
        return [Clear(config.NEGATIVE_SENTIMENT, customer, product, at, "sentiment recovered")]
    return []


def error_touchpoint(ctx: Evaluation) -> list[Signal]:
    state, touchpoint, partition, timers, rules, catalogue = (
        ctx.state,
        ctx.touchpoint,
        ctx.partition,
        ctx.timers,
        ctx.rules,
        ctx.catalogue,
    )
    if not catalogue.is_error(touchpoint.type):
        return []
    at = touchpoint.occurred_at
    error = Contact(at, touchpoint.event_id, touchpoint.channel, touchpoint.product_id)
    state.remember(state.errors, error, rules.error_window * 2)
    recent = [e for e in state.errors if at - rules.error_window <= e.at <= at]
    burst = len(recent) >= rules.error_burst
    timers.arm(
        Timer(
            rule=config.ERROR_TOUCHPOINT,
            action=TimerAction.CLEAR,
            customer_id=touchpoint.customer_id,
            product_id=touchpoint.product_id,
            partition=partition,
            due_at=at + rules.error_window,
            detail=f"no error for {human_duration(rules.error_window)}",
        )
    )
    summary = (
        f"{len(recent)} errors within {human_duration(rules.error_window)}, "
        f"latest {touchpoint.type}"
        if burst
        else f"error touchpoint: {touchpoint.type}"
    )
    return [
        Raise(
            config.ERROR_TOUCHPOINT,
            touchpoint.customer_id,
            touchpoint.product_id,
            rules.error_burst_severity if burst else rules.error_severity,
            at,
            tuple(e.event_id for e in recent) if burst else (touchpoint.event_id,),
            summary,
        )
    ]


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
    timers.remove(key)
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
    if entered_earlier:
        return []
    return [
        Clear(
            config.STAGE_STALLED,
            touchpoint.customer_id,
            product,
            at,
            f"progress: {'converted' if converts else 'moved to ' + stage}",
        )
    ]


PER_TOUCHPOINT = (
    checkout_abandoned,
    repeated_support,
    detractor,
    negative_sentiment,
    error_touchpoint,
    stage_stalled,
)


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
