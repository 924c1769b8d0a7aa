"""Map documents as the version before bounded states (migration 0011) wrote them."""

from __future__ import annotations

from shared.db.state_json import Json, experience_to_json, journey_to_json
from shared.domain.experience import ExperienceState
from shared.domain.journey import JourneyPath
from shared.domain.stages import StageCatalogue
from shared.domain.touchpoint import Touchpoint
from tests.support.events import as_stored

JOURNEY_SUMMARY = (
    "touchpoint_count", "first_at", "first_channel", "last_type", "last_channel", "tallies",
    "stage_touchpoints",
)  # fmt: skip


def legacy_journey_doc(path: JourneyPath) -> Json:
    """The summary fields absent, every step in: [id, type, channel, at, stage, revisit,
    sentiment]."""
    doc = journey_to_json(path.state)
    for summary in JOURNEY_SUMMARY:
        del doc[summary]
    doc["steps"] = [
        [s.event_id, s.type, s.channel, s.occurred_at, s.stage, s.revisit, s.sentiment]
        for s in path.steps
    ]
    return as_stored(doc)


def legacy_experience_doc(
    state: ExperienceState, touchpoints: list[Touchpoint], catalogue: StageCatalogue
) -> Json:
    """Sums and counts absent; the sentiment curve and support contacts as lists of
    moments, [occurred_at, event_id, type, channel, product_id, value]."""
    doc = experience_to_json(state)
    for summary in ("sentiment_micros", "sentiment_count", "support_contacts"):
        del doc[summary]
    ordered = sorted(touchpoints, key=lambda t: (t.occurred_at, t.event_id))
    doc["sentiment"] = [
        [t.occurred_at, t.event_id, t.type, t.channel, t.product_id, t.sentiment]
        for t in ordered
        if t.sentiment is not None
    ]
    doc["support_contacts"] = [
        [t.occurred_at, t.event_id, t.type, t.channel, t.product_id, None]
        for t in ordered
        if catalogue.is_support_contact(t.type)
    ]
    return as_stored(doc)
