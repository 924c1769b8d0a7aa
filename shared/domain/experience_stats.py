"""What each touchpoint and each alert adds to the experience hotspots.

Hotspots are counted by the day a touchpoint occurred (UTC), per product (or none),
touchpoint type and channel. Every figure is a count or an exact sum, so the stored
figures are the sum of these contributions, added once per new touchpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from shared.domain.experience import NpsCategory, nps_category
from shared.domain.journey_stats import utc_day
from shared.domain.touchpoint import Touchpoint, sentiment_micros

# Day of occurrence, product ("" for none), type, channel.
HotspotKey = tuple[date, str, str, str]


@dataclass(frozen=True, slots=True)
class HotspotFigures:
    touches: int = 0
    sentiment_micros: int = 0
    sentiment_count: int = 0
    negative: int = 0  # touchpoints at or below the negative-sentiment threshold
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    csat_total: int = 0
    csat_count: int = 0
    alerts: int = 0  # friction alerts triggered by touchpoints of this kind

    def __add__(self, other: HotspotFigures) -> HotspotFigures:
        return HotspotFigures(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )


def hotspot_key(touchpoint: Touchpoint) -> HotspotKey:
    return (
        utc_day(touchpoint.occurred_at),
        touchpoint.product_id or "",
        touchpoint.type,
        touchpoint.channel,
    )


def touchpoint_figures(touchpoint: Touchpoint, negative_max: float) -> HotspotFigures:
    sentiment = touchpoint.sentiment
    category = None if touchpoint.nps is None else nps_category(touchpoint.nps)
    return HotspotFigures(
        touches=1,
        sentiment_micros=0 if sentiment is None else sentiment_micros(sentiment),
        sentiment_count=int(sentiment is not None),
        negative=int(sentiment is not None and sentiment <= negative_max),
        promoters=int(category is NpsCategory.PROMOTER),
        passives=int(category is NpsCategory.PASSIVE),
        detractors=int(category is NpsCategory.DETRACTOR),
        csat_total=touchpoint.csat or 0,
        csat_count=int(touchpoint.csat is not None),
    )


ALERT = HotspotFigures(alerts=1)
