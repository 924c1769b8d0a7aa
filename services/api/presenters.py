"""Domain states to public response models."""

from __future__ import annotations

from services.api import models
from shared.domain import journey
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyState, JourneyStep
from shared.domain.touchpoint import Touchpoint
from shared.web.cursor import encode_cursor


def _touchpoint(step: JourneyStep) -> models.JourneyTouchpoint:
    return models.JourneyTouchpoint(
        event_id=step.event_id,
        type=step.type,
        channel=step.channel,
        occurred_at=step.occurred_at,
        revisit=step.revisit,
        sentiment=step.sentiment,
    )


def journey_summary(state: JourneyState, *, abandoned: bool) -> models.JourneySummary:
    if state.stage is None or state.started_at is None or state.last_event_at is None:
        raise ValueError("a journey that has not started has no summary")
    return models.JourneySummary(
        product_id=state.product_id,
        instance=state.instance,
        stage=state.stage,
        status=journey.status(state, abandoned=abandoned).value,
        converted=state.converted,
        started_at=state.started_at,
        converted_at=state.converted_at,
        last_event_at=state.last_event_at,
        touchpoint_count=state.touchpoint_count,
    )


def journey_map(
    state: JourneyState, steps: list[JourneyStep], *, abandoned: bool, more: bool
) -> models.JourneyMap:
    """The map with one page of its steps; `more` when steps follow the page."""
    summary = journey_summary(state, abandoned=abandoned)
    seconds = journey.time_in_stage(state)
    grouped: dict[str | None, list[JourneyStep]] = {}
    for step in steps:
        grouped.setdefault(step.stage, []).append(step)
    stages = [
        models.JourneyStage(
            stage=transition.to_stage,
            entered_at=transition.at,
            seconds_in_stage=seconds.get(transition.to_stage, 0.0),
            touchpoint_count=state.stage_touchpoints.get(transition.to_stage, 0),
            touchpoints=[_touchpoint(step) for step in grouped.get(transition.to_stage, [])],
        )
        for transition in state.transitions
    ]
    return models.JourneyMap(
        **summary.model_dump(),
        customer_id=state.customer_id,
        revisits=state.revisits,
        revenue=float(state.revenue),
        transitions=[
            models.StageTransition(
                from_stage=t.from_stage, to_stage=t.to_stage, at=t.at, event_id=t.event_id
            )
            for t in state.transitions
        ],
        stages=stages,
        touchpoints_before_start=[_touchpoint(step) for step in grouped.get(None, [])],
        touchpoints_before_start_count=state.stage_touchpoints.get("", 0),
        next_cursor=(
            encode_cursor(state.instance, steps[-1].position + 1, steps[-1].event_id)
            if more
            else None
        ),
    )


def _moment(touchpoint: Touchpoint, value: float | None) -> models.ExperienceMoment:
    return models.ExperienceMoment(
        occurred_at=touchpoint.occurred_at,
        event_id=touchpoint.event_id,
        type=touchpoint.type,
        channel=touchpoint.channel,
        product_id=touchpoint.product_id,
        value=value,
    )


def experience_map(
    state: ExperienceState,
    journeys: list[models.JourneySummary],
    *,
    sentiment: list[Touchpoint],
    contacts: list[Touchpoint],
) -> models.ExperienceMap:
    """The map, with the latest sentiment points and support contacts as read."""
    category = state.nps_category
    return models.ExperienceMap(
        customer_id=state.customer_id,
        touchpoint_count=state.touchpoint_count,
        first_seen=state.first_seen,
        last_seen=state.last_seen,
        channels=[
            models.ChannelUse(channel=channel, touchpoints=count)
            for channel, count in sorted(state.channels.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        products=[
            models.ProductEngagement(product_id=product, touchpoints=count)
            for product, count in sorted(state.products.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        sentiment=models.SentimentCurve(
            average=state.average_sentiment,
            count=state.sentiment_count,
            points=[_moment(t, t.sentiment) for t in sentiment],
        ),
        nps=models.NpsSummary(
            latest=None if state.nps is None or state.nps.value is None else int(state.nps.value),
            category=None if category is None else category.value,
            answered_at=None if state.nps is None else state.nps.occurred_at,
            responses=state.nps_responses,
        ),
        csat=models.CsatSummary(average=state.average_csat, responses=state.csat_responses),
        support=models.SupportSummary(
            contacts=state.support_contacts, timeline=[_moment(t, None) for t in contacts]
        ),
        error_touchpoints=state.error_touchpoints,
        revenue=float(state.revenue),
        journeys=journeys,
    )


def timeline_entry(touchpoint: Touchpoint) -> models.TimelineTouchpoint:
    return models.TimelineTouchpoint(
        event_id=touchpoint.event_id,
        type=touchpoint.type,
        channel=touchpoint.channel,
        product_id=touchpoint.product_id,
        occurred_at=touchpoint.occurred_at,
        sentiment=touchpoint.sentiment,
        nps=touchpoint.nps,
        csat=touchpoint.csat,
        revenue=None if touchpoint.revenue is None else float(touchpoint.revenue),
    )


def received_entry(touchpoint: Touchpoint) -> models.ReceivedTouchpoint:
    return models.ReceivedTouchpoint(
        **timeline_entry(touchpoint).model_dump(),
        customer_id=touchpoint.customer_id,
        received_at=touchpoint.received_at,
    )
