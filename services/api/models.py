"""Public response models of the query API (distinct from table rows and domain values)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.schemas.alert_event import AlertView
from shared.schemas.common import StorableText

JourneyStatusName = Literal["open", "converted", "abandoned"]


class JourneyTouchpoint(BaseModel):
    event_id: str
    type: str = Field(description="Effective type: a purchase after conversion is a repeat.")
    channel: str
    occurred_at: datetime
    revisit: bool = Field(description="A touchpoint of an earlier stage than the journey's.")
    sentiment: float | None


class JourneyStage(BaseModel):
    stage: str
    entered_at: datetime
    seconds_in_stage: float = Field(
        description="Time in this stage; the current stage counts up to the last touchpoint."
    )
    touchpoint_count: int = Field(description="All of this stage's touchpoints.")
    touchpoints: list[JourneyTouchpoint] = Field(
        description="This page's touchpoints in this stage, in the journey's order."
    )


class StageTransition(BaseModel):
    from_stage: str | None
    to_stage: str
    at: datetime
    event_id: str


class JourneySummary(BaseModel):
    product_id: str
    instance: int = Field(
        description="Journeys of one product are numbered from 0; a new one starts after "
        "the inactivity window."
    )
    stage: str
    status: JourneyStatusName
    converted: bool
    started_at: datetime
    converted_at: datetime | None
    last_event_at: datetime
    touchpoint_count: int


class JourneyMap(JourneySummary):
    """One customer's path through the stages of buying one product."""

    customer_id: str
    revisits: int
    revenue: float
    transitions: list[StageTransition]
    stages: list[JourneyStage] = Field(description="Stages reached, in order, with touchpoints.")
    touchpoints_before_start: list[JourneyTouchpoint] = Field(
        description="This page's neutral touchpoints for this product before its first staged one."
    )
    touchpoints_before_start_count: int = Field(
        description="All of the neutral touchpoints before its first staged one."
    )
    next_cursor: str | None = Field(
        description="More touchpoints follow: pass this as `cursor` for the next page. "
        "A journey rebuilt since (a late event reordered it) answers 409: start again."
    )


class JourneyList(BaseModel):
    customer_id: str
    journeys: list[JourneySummary]
    next_cursor: str | None = None


class TimelineTouchpoint(BaseModel):
    event_id: str
    type: str
    channel: str
    product_id: str | None
    occurred_at: datetime
    sentiment: float | None
    nps: int | None
    csat: int | None
    revenue: float | None


class ReceivedTouchpoint(TimelineTouchpoint):
    customer_id: str
    received_at: datetime


class LatestTouchpoints(BaseModel):
    touchpoints: list[ReceivedTouchpoint] = Field(
        description="The latest touchpoints in the maps, by arrival, newest first."
    )


class CustomerMatch(BaseModel):
    customer_id: str
    touchpoint_count: int
    last_seen: datetime | None


class CustomerList(BaseModel):
    customers: list[CustomerMatch] = Field(description="Latest seen first.")


class Timeline(BaseModel):
    customer_id: str
    touchpoints: list[TimelineTouchpoint] = Field(description="Newest first.")
    next_cursor: str | None


class ChannelUse(BaseModel):
    channel: str
    touchpoints: int


class ProductEngagement(BaseModel):
    product_id: str
    touchpoints: int


class ExperienceMoment(BaseModel):
    occurred_at: datetime
    event_id: str
    type: str
    channel: str
    product_id: str | None
    value: float | None = None


class SentimentCurve(BaseModel):
    average: float | None
    count: int = Field(description="Every touchpoint with a sentiment.")
    points: list[ExperienceMoment] = Field(
        description="The latest points, oldest first; the touchpoints timeline has them all."
    )


class NpsSummary(BaseModel):
    latest: int | None
    category: Literal["promoter", "passive", "detractor"] | None
    answered_at: datetime | None
    responses: int


class CsatSummary(BaseModel):
    average: float | None
    responses: int


class SupportSummary(BaseModel):
    contacts: int
    timeline: list[ExperienceMoment] = Field(
        description="The latest contacts, oldest first; the touchpoints timeline has them all."
    )


class ExperienceMap(BaseModel):
    """One customer's experience across every product and channel."""

    customer_id: str
    touchpoint_count: int
    first_seen: datetime | None
    last_seen: datetime | None
    channels: list[ChannelUse]
    products: list[ProductEngagement]
    sentiment: SentimentCurve
    nps: NpsSummary
    csat: CsatSummary
    support: SupportSummary
    error_touchpoints: int
    revenue: float
    journeys: list[JourneySummary]


class AlertPage(BaseModel):
    alerts: list[AlertView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class DeliveryAttempt(BaseModel):
    attempted_at: datetime
    duration_ms: float
    status_code: int | None
    outcome: Literal["delivered", "retry", "rejected"]
    error: str | None


class Delivery(BaseModel):
    id: int
    alert_id: int
    notifier: str
    change: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    history: list[DeliveryAttempt]


class AlertActionView(BaseModel):
    action: Literal["acknowledged", "resolved"]
    by: str
    note: str | None
    at: datetime


class AlertDetail(AlertView):
    actions: list[AlertActionView] = Field(
        description="Who acknowledged or resolved it, when, and their note; oldest first."
    )
    deliveries: list[Delivery]
    triggered_by: list[TimelineTouchpoint] = Field(
        description="The touchpoints in `touchpoints` as stored, oldest first."
    )


class AlertAction(BaseModel):
    """Who acts on the alert, and why."""

    by: StorableText | None = Field(
        default=None, max_length=200, description="Defaults to the API key's name."
    )
    note: StorableText | None = Field(default=None, max_length=2000)


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]


class RejectedEventView(BaseModel):
    id: int
    received_at: datetime
    source: str = Field(description="Name of the key that sent it.")
    endpoint: str
    index: int | None = Field(description="Position in the request; null for the whole request.")
    event_id: str | None
    reason: str
    payload: str = Field(description="What was sent (UTF-8, first 32 KB).")


class RejectedEventPage(BaseModel):
    rejected: list[RejectedEventView]
    next_cursor: str | None
