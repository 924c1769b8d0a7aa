"""Response models of the figures across customers: funnel, touchpoints, hotspots."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Percentiles(BaseModel):
    median: float | None
    p90: float | None


class CommonTouch(BaseModel):
    type: str
    channel: str
    journeys: int


class FunnelStage(BaseModel):
    stage: str
    reached: int = Field(description="Journeys that got at least this far.")
    conversion_from_previous: float | None
    conversion_from_first: float | None
    seconds_from_previous: Percentiles = Field(
        description="Time from the stage the journey was in before to this one."
    )
    dropped: int = Field(description="Journeys abandoned in this stage.")
    last_touchpoints_before_dropping: list[CommonTouch] = Field(
        description="The most common last touchpoints of the journeys that dropped here."
    )


class Funnel(BaseModel):
    product_id: str
    since: datetime | None = Field(
        serialization_alias="from", description="Journeys started from here."
    )
    until: datetime | None = Field(serialization_alias="to", description="...and before here.")
    channel: str | None = Field(description="Only journeys whose first touchpoint was here.")
    journeys: int
    stages: list[FunnelStage]
    converted: int = Field(description="Journeys with a purchase.")
    conversion: float | None = Field(description="Converted over journeys.")
    seconds_to_convert: Percentiles = Field(description="From journey start to purchase.")


class TouchpointFigures(BaseModel):
    type: str
    channel: str
    volume: int
    customers: int = Field(description="Customers who touched it, once per journey.")
    click_through: float | None = Field(
        description="For impressions: clicks over impressions of the same channel."
    )
    conversion_rate: float | None = Field(
        description="Share of the customers who touched it and purchased afterwards."
    )
    bounce_rate: float | None = Field(
        description="Share of the customers for whom it was the last touch of an abandoned journey."
    )
    average_sentiment: float | None
    friction_rate: float | None = Field(
        description="Friction alerts it triggered per customer who touched it."
    )


class TouchpointPage(BaseModel):
    product_id: str | None
    since: date | None = Field(
        serialization_alias="from", description="First day (UTC) of journeys counted."
    )
    until: date | None = Field(
        serialization_alias="to", description="Day (UTC) after the last one counted."
    )
    touchpoints: list[TouchpointFigures] = Field(description="By volume, largest first.")
    next_cursor: str | None


class ExperienceFigures(BaseModel):
    touches: int
    alerts: int = Field(description="Friction alerts triggered by these touchpoints.")
    negative: int = Field(description="Touchpoints with negative sentiment.")
    average_sentiment: float | None
    nps: float | None = Field(description="Promoters minus detractors, percent of responses.")
    nps_responses: int
    average_csat: float | None
    csat_responses: int


class TouchpointHotspot(ExperienceFigures):
    type: str
    channel: str


class ChannelHotspot(ExperienceFigures):
    channel: str


class ProductHotspot(ExperienceFigures):
    product_id: str


class Hotspots(BaseModel):
    since: date | None = Field(serialization_alias="from", description="First day (UTC) counted.")
    until: date | None = Field(
        serialization_alias="to", description="Day (UTC) after the last one counted."
    )
    touchpoints: list[TouchpointHotspot] = Field(
        description="Worst first: by alerts, then negative sentiment, then volume."
    )
    next_cursor: str | None
    channels: list[ChannelHotspot] = Field(description="Every channel, worst first.")
    products: list[ProductHotspot] = Field(description="Every product, worst first.")


class MapLag(BaseModel):
    events: int | None = Field(description="Events appended but not yet in the maps.")
    seconds: float | None = Field(description="How long the oldest of them has waited.")
    note: str | None = Field(description="Why the figures are missing, when they are.")


class Overview(BaseModel):
    at: datetime
    events_per_minute: float = Field(description="Touchpoints received, last five minutes.")
    customers_active_today: int = Field(description="With a touchpoint since 00:00 UTC.")
    open_alerts: dict[str, int] = Field(description="Open or acknowledged, per severity.")
    map_lag: MapLag


class ProductJourneys(BaseModel):
    product_id: str
    journeys: int


class ProductList(BaseModel):
    products: list[ProductJourneys] = Field(description="Most journeys first.")


class StageModel(BaseModel):
    stages: list[str] = Field(description="In order.")
    stage_types: dict[str, list[str]] = Field(description="Event types per stage.")
    conversion_type: str
    error_types: list[str]
    support_contact_types: list[str]


class FlowNode(BaseModel):
    id: str
    kind: str = Field(description="start, stage, dropped, open or revisited")
    stage: str | None
    journeys: int


class FlowLink(BaseModel):
    source: str
    target: str
    journeys: int


class StageFlow(BaseModel):
    product_id: str
    since: datetime | None = Field(serialization_alias="from")
    until: datetime | None = Field(serialization_alias="to")
    channel: str | None
    journeys: int
    nodes: list[FlowNode]
    links: list[FlowLink] = Field(
        description="Per stage, what flows in equals what flows out to later stages, "
        "drop-off and still there; revisit links are on top of that balance."
    )


class DroppedJourney(BaseModel):
    customer_id: str
    instance: int
    started_at: datetime
    abandoned_at: datetime
    last_type: str | None
    last_channel: str | None
    map_url: str


class DroppedPage(BaseModel):
    product_id: str
    stage: str
    journeys: list[DroppedJourney] = Field(description="Latest abandoned first.")
    next_cursor: str | None
