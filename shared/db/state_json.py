"""Journey and experience states as JSON documents, for the JSONB state columns.

The documents are also what the query API reads, so their shape is stable: change it
only together with a migration. Times stay `datetime` in the documents built here:
orjson writes them exactly as `isoformat` does, and several times faster. Parsing
calls `datetime.fromisoformat` inline: these codecs run for every state the
aggregator reads or writes, and were a fifth of its time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.domain.experience import ExperienceState, Moment
from shared.domain.friction.state import CustomerFriction, Latest, Progress
from shared.domain.journey import (
    JourneyState,
    JourneyStep,
    StageTransition,
    TouchTally,
    record_step,
)
from shared.domain.stages import OrderKey
from shared.domain.touchpoint import sentiment_micros

Json = dict[str, Any]


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


_iso = datetime.fromisoformat


def _order_key(doc: list[Any] | None) -> OrderKey | None:
    if doc is None:
        return None
    if len(doc) == 2:  # (time, id), written before ties were ordered by stage
        return (_iso(doc[0]), -1, doc[1])
    at, rank, event_id = doc
    return (_iso(at), rank, event_id)


def journey_to_json(state: JourneyState) -> Json:
    return {
        "customer_id": state.customer_id,
        "product_id": state.product_id,
        "instance": state.instance,
        "stage": state.stage,
        "started_at": state.started_at,
        "stage_entered_at": state.stage_entered_at,
        "converted_at": state.converted_at,
        "last_event_at": state.last_event_at,
        "last_key": None if state.last_key is None else list(state.last_key),
        "transitions": [[t.from_stage, t.to_stage, t.at, t.event_id] for t in state.transitions],
        "completed_stage_seconds": state.completed_stage_seconds,
        "revisits": state.revisits,
        "revenue": str(state.revenue),
        "touchpoint_count": state.touchpoint_count,
        "first_at": state.first_at,
        "first_channel": state.first_channel,
        "last_type": state.last_type,
        "last_channel": state.last_channel,
        "tallies": [
            [event_type, channel, t.first_at, t.touches, t.sentiment_micros, t.sentiment_count]
            for (event_type, channel), t in state.tallies.items()
        ],
        "stage_touchpoints": state.stage_touchpoints,
        "stage_revisits": state.stage_revisits,
    }


def journey_from_json(doc: Json) -> JourneyState:
    state = JourneyState(
        customer_id=doc["customer_id"],
        product_id=doc["product_id"],
        # Documents written before journey instances existed describe the first one.
        instance=doc.get("instance", 0),
        stage=doc["stage"],
        started_at=_parse_time(doc["started_at"]),
        stage_entered_at=_parse_time(doc["stage_entered_at"]),
        converted_at=_parse_time(doc["converted_at"]),
        last_event_at=_parse_time(doc["last_event_at"]),
        last_key=_order_key(doc["last_key"]),
        transitions=[
            StageTransition(from_stage, to_stage, _iso(at), event_id)
            for from_stage, to_stage, at, event_id in doc["transitions"]
        ],
        completed_stage_seconds=dict(doc["completed_stage_seconds"]),
        revisits=doc["revisits"],
        revenue=Decimal(doc["revenue"]),
    )
    if "steps" in doc:
        # Written before the state was a summary: count the steps it carries (migration
        # 0011 copied them to the journey_steps table).
        for position, step in enumerate(doc["steps"]):
            record_step(state, _legacy_step(position, step))
        return state
    state.touchpoint_count = doc["touchpoint_count"]
    state.first_at = _parse_time(doc["first_at"])
    state.first_channel = doc["first_channel"]
    state.last_type = doc["last_type"]
    state.last_channel = doc["last_channel"]
    state.tallies = {
        (event_type, channel): TouchTally(_iso(first_at), touches, micros, count)
        for event_type, channel, first_at, touches, micros, count in doc["tallies"]
    }
    state.stage_touchpoints = dict(doc["stage_touchpoints"])
    # Migration 0013 adds it to the documents written before.
    state.stage_revisits = dict(doc["stage_revisits"])
    return state


def _legacy_step(position: int, step: list[Any]) -> JourneyStep:
    # Steps written before sentiment was kept have six fields.
    sentiment = step[6] if len(step) > 6 else None
    return JourneyStep(
        position, step[0], step[1], step[2], _iso(step[3]), step[4], step[5], sentiment
    )


def _moment_to_json(moment: Moment) -> list[Any]:
    return [
        moment.occurred_at,
        moment.event_id,
        moment.type,
        moment.channel,
        moment.product_id,
        moment.value,
    ]


def _moment_from_json(doc: list[Any]) -> Moment:
    at, event_id, event_type, channel, product_id, value = doc
    return Moment(_iso(at), event_id, event_type, channel, product_id, value)


def experience_to_json(state: ExperienceState) -> Json:
    return {
        "customer_id": state.customer_id,
        "touchpoint_count": state.touchpoint_count,
        "channels": state.channels,
        "products": state.products,
        "sentiment_micros": state.sentiment_micros,
        "sentiment_count": state.sentiment_count,
        "nps": None if state.nps is None else _moment_to_json(state.nps),
        "nps_responses": state.nps_responses,
        "csat_total": state.csat_total,
        "csat_responses": state.csat_responses,
        "support_contacts": state.support_contacts,
        "error_touchpoints": state.error_touchpoints,
        "revenue": str(state.revenue),
        "first_seen": state.first_seen,
        "last_seen": state.last_seen,
    }


def experience_from_json(doc: Json) -> ExperienceState:
    nps = doc["nps"]
    if "sentiment" in doc:  # written before the state was a summary: lists of moments
        sentiment_micros, sentiment_count = _legacy_sentiment(doc["sentiment"])
        support_contacts = len(doc["support_contacts"])
    else:
        sentiment_micros, sentiment_count = doc["sentiment_micros"], doc["sentiment_count"]
        support_contacts = doc["support_contacts"]
    return ExperienceState(
        customer_id=doc["customer_id"],
        touchpoint_count=doc["touchpoint_count"],
        channels=dict(doc["channels"]),
        products=dict(doc["products"]),
        sentiment_micros=sentiment_micros,
        sentiment_count=sentiment_count,
        nps=None if nps is None else _moment_from_json(nps),
        nps_responses=doc["nps_responses"],
        csat_total=doc["csat_total"],
        csat_responses=doc["csat_responses"],
        support_contacts=support_contacts,
        error_touchpoints=doc["error_touchpoints"],
        revenue=Decimal(doc["revenue"]),
        first_seen=_parse_time(doc["first_seen"]),
        last_seen=_parse_time(doc["last_seen"]),
    )


def _legacy_sentiment(moments: list[list[Any]]) -> tuple[int, int]:
    values = [_moment_from_json(m).value for m in moments]
    return sum(sentiment_micros(v) for v in values if v is not None), len(values)


def _latest_to_json(latest: Mapping[str, Latest]) -> Json:
    return {key: [last.at, last.event_id, last.bad] for key, last in latest.items()}


def _latest_from_json(doc: Json) -> dict[str, Latest]:
    return {key: Latest(_iso(at), event_id, bad) for key, (at, event_id, bad) in doc.items()}


def friction_to_json(state: CustomerFriction) -> Json:
    return {
        "customer_id": state.customer_id,
        "journeys": {
            product: [p.stage, p.entered_at, p.converted] for product, p in state.journeys.items()
        },
        "scores": _latest_to_json(state.scores),
        "sentiments": _latest_to_json(state.sentiments),
    }


def friction_from_json(doc: Json) -> CustomerFriction:
    return CustomerFriction(
        customer_id=doc["customer_id"],
        journeys={
            product: Progress(stage, _parse_time(entered_at), converted)
            for product, (stage, entered_at, converted) in doc["journeys"].items()
        },
        # Absent from documents written before the rules read stored touchpoints.
        scores=_latest_from_json(doc.get("scores", {})),
        sentiments=_latest_from_json(doc.get("sentiments", {})),
    )
