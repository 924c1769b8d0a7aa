"""Each ingest door's items to the log's normalised event."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.ingest.normalise import TimeBounds, checked_time, normalise
from shared.schemas.common import TouchpointFields
from shared.schemas.log_event import LogEvent
from shared.schemas.native import TouchpointIn
from shared.schemas.support import INTERACTION_TYPES, SupportInteractionIn, SurveyIn


def native_event(
    item: Any, *, received_at: datetime, source: str, time_bounds: TimeBounds
) -> LogEvent:
    return normalise(
        TouchpointIn.model_validate(item),
        received_at=received_at,
        source=source,
        time_bounds=time_bounds,
    )


def _log_event(
    fields: TouchpointFields,
    *,
    event_id: str | None,
    event_type: str,
    channel: str,
    occurred_at: datetime,
    received_at: datetime,
    source: str,
    extra: Mapping[str, Any],
) -> LogEvent:
    return LogEvent(
        event_id=event_id or str(uuid.uuid4()),
        customer_id=fields.customer_id,
        anonymous_id=fields.anonymous_id,
        type=event_type,
        channel=channel,
        product_id=fields.product_id,
        occurred_at=occurred_at,
        received_at=received_at,
        source=source,
        sentiment=fields.sentiment,
        nps=fields.nps,
        csat=fields.csat,
        revenue=fields.revenue,
        properties={**fields.properties, **{k: v for k, v in extra.items() if v is not None}},
    )


def interaction_event(
    item: Any, *, received_at: datetime, source: str, time_bounds: TimeBounds
) -> LogEvent:
    interaction = SupportInteractionIn.model_validate(item)
    event_type, default_channel = INTERACTION_TYPES[interaction.kind]
    return _log_event(
        interaction,
        event_id=interaction.interaction_id,
        event_type=event_type,
        channel=interaction.channel or default_channel,
        occurred_at=checked_time(
            interaction.timestamp, interaction.sent_at, received_at, time_bounds
        ),
        received_at=received_at,
        source=source,
        extra={"ticket_id": interaction.ticket_id, "agent": interaction.agent},
    )


def survey_event(
    item: Any, *, received_at: datetime, source: str, time_bounds: TimeBounds
) -> LogEvent:
    survey = SurveyIn.model_validate(item)
    return _log_event(
        survey,
        event_id=survey.response_id,
        event_type="survey_response",
        channel=survey.channel,
        occurred_at=checked_time(survey.timestamp, survey.sent_at, received_at, time_bounds),
        received_at=received_at,
        source=source,
        extra={"survey": survey.survey, "comment": survey.comment},
    )
