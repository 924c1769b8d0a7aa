"""Sums to figures: rates, rankings and click-through, as the dashboards see them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import quote

from services.api import dashboard_models as models
from services.api.dashboard_queries import (
    Cohort,
    DroppedJourney,
    ExperienceSums,
    FlowSums,
    FunnelSums,
    TouchSums,
)
from shared.domain.touchpoint import SENTIMENT_SCALE

# How many of the most common last touchpoints each funnel stage lists.
DROP_OFF_TOUCHES = 5


def ratio(part: int | float, whole: int | float) -> float | None:
    return None if not whole else part / whole


def _percentiles(pair: tuple[float | None, float | None]) -> models.Percentiles:
    return models.Percentiles(median=pair[0], p90=pair[1])


def funnel(cohort: Cohort, stages: Sequence[str], sums: FunnelSums) -> models.Funnel:
    first = sums.stages[0].reached if sums.stages else 0
    rows = []
    for rank, (name, stage) in enumerate(zip(stages, sums.stages, strict=True)):
        previous = sums.stages[rank - 1].reached if rank else None
        drop_offs = sorted(sums.drop_offs.get(rank, []), key=lambda d: (-d[2], d[0], d[1]))
        rows.append(
            models.FunnelStage(
                stage=name,
                reached=stage.reached,
                conversion_from_previous=None
                if previous is None
                else ratio(stage.reached, previous),
                conversion_from_first=ratio(stage.reached, first),
                seconds_from_previous=_percentiles(stage.seconds),
                dropped=stage.dropped,
                last_touchpoints_before_dropping=[
                    models.CommonTouch(type=t, channel=c, journeys=n)
                    for t, c, n in drop_offs[:DROP_OFF_TOUCHES]
                ],
            )
        )
    return models.Funnel(
        product_id=cohort.product_id,
        since=cohort.since,
        until=cohort.until,
        channel=cohort.channel,
        journeys=sums.journeys,
        stages=rows,
        converted=sums.converted,
        conversion=ratio(sums.converted, sums.journeys),
        seconds_to_convert=_percentiles(sums.seconds_to_convert),
    )


def _sentiment(micros: int, count: int) -> float | None:
    return None if not count else micros / SENTIMENT_SCALE / count


def touchpoint_figures(
    sums: Sequence[TouchSums], click_through: Mapping[str, str]
) -> list[models.TouchpointFigures]:
    """Figures per touchpoint, largest volume first."""
    volume = {(s.type, s.channel): s.touches for s in sums}
    figures = [
        models.TouchpointFigures(
            type=s.type,
            channel=s.channel,
            volume=s.touches,
            customers=s.journeys,
            click_through=ratio(volume.get((click_through[s.type], s.channel), 0), s.touches)
            if s.type in click_through
            else None,
            conversion_rate=ratio(s.converted_after, s.journeys),
            bounce_rate=ratio(s.bounced, s.journeys),
            average_sentiment=_sentiment(s.sentiment_micros, s.sentiment_count),
            friction_rate=ratio(s.alerts, s.journeys),
        )
        for s in sums
    ]
    return sorted(figures, key=lambda f: (-f.volume, f.type, f.channel))


def _experience(s: ExperienceSums) -> dict[str, Any]:
    responses = s.promoters + s.passives + s.detractors
    return models.ExperienceFigures(
        touches=s.touches,
        alerts=s.alerts,
        negative=s.negative,
        average_sentiment=_sentiment(s.sentiment_micros, s.sentiment_count),
        nps=ratio(100 * (s.promoters - s.detractors), responses),
        nps_responses=responses,
        average_csat=ratio(s.csat_total, s.csat_count),
        csat_responses=s.csat_count,
    ).model_dump()


def worst_first(s: ExperienceSums) -> tuple[object, ...]:
    """The hotspot order: most alerts, then most negative sentiment, then most touches."""
    return (-s.alerts, -s.negative, -s.touches, *s.key)


def hotspots(
    sums: Sequence[ExperienceSums],
    touchpoints: Sequence[ExperienceSums],
    next_cursor: str | None,
    since: date | None,
    until: date | None,
) -> models.Hotspots:
    ranked = sorted(sums, key=worst_first)
    return models.Hotspots(
        since=since,
        until=until,
        touchpoints=[
            models.TouchpointHotspot(type=s.key[0], channel=s.key[1], **_experience(s))
            for s in touchpoints
        ],
        next_cursor=next_cursor,
        channels=[
            models.ChannelHotspot(channel=s.key[0], **_experience(s))
            for s in ranked
            if s.kind == "channel"
        ],
        products=[
            models.ProductHotspot(product_id=s.key[0], **_experience(s))
            for s in ranked
            if s.kind == "product"
        ],
    )


START = "start"


def stage_flow(cohort: Cohort, stages: Sequence[str], sums: FlowSums) -> models.StageFlow:
    """Nodes and links of the Sankey: each stage's inflow leaves to a later stage, to
    the drop-off, or stays (journeys still in it); revisits are stubs beside that."""
    links: list[models.FlowLink] = []
    for (source, target), journeys in sorted(
        sums.moves.items(), key=lambda move: (move[0][0] is not None, move[0])
    ):
        links.append(
            models.FlowLink(
                source=START if source is None else f"stage:{source}",
                target=f"stage:{target}",
                journeys=journeys,
            )
        )
    ends = (("dropped", sums.dropped), ("open", sums.open))
    for rank, stage in enumerate(stages):
        for kind, counts in ends:
            if counts.get(rank):
                links.append(
                    models.FlowLink(
                        source=f"stage:{stage}", target=f"{kind}:{stage}", journeys=counts[rank]
                    )
                )
        if sums.revisited.get(stage):
            links.append(
                models.FlowLink(
                    source=f"stage:{stage}",
                    target=f"revisited:{stage}",
                    journeys=sums.revisited[stage],
                )
            )
    inflow: dict[str, int] = {}
    for link in links:
        inflow[link.target] = inflow.get(link.target, 0) + link.journeys
    started = sum(link.journeys for link in links if link.source == START)
    nodes = [models.FlowNode(id=START, kind=START, stage=None, journeys=started)]
    for stage in stages:
        for kind in ("stage", "dropped", "open", "revisited"):
            node_id = f"{kind}:{stage}"
            if node_id in inflow:
                nodes.append(
                    models.FlowNode(id=node_id, kind=kind, stage=stage, journeys=inflow[node_id])
                )
    return models.StageFlow(
        product_id=cohort.product_id,
        since=cohort.since,
        until=cohort.until,
        channel=cohort.channel,
        journeys=started,
        nodes=nodes,
        links=links,
    )


def journey_url(base_url: str, journey: DroppedJourney, product_id: str) -> str:
    customer, product = quote(journey.customer_id, safe=""), quote(product_id, safe="")
    return f"{base_url}/v1/customers/{customer}/journeys/{product}?instance={journey.instance}"
