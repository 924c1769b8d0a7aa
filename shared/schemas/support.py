"""What support systems send: interactions (tickets, chats, calls, ...) and survey answers."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from shared.schemas.common import Channel, EventTime, Identifier, TouchpointFields

InteractionKind = Literal[
    "ticket_opened", "ticket_updated", "ticket_resolved", "chat", "call", "forum_post", "return"
]

# Each kind is a touchpoint type of the service stage, with its usual channel.
INTERACTION_TYPES: dict[str, tuple[str, str]] = {
    "ticket_opened": ("support_ticket_opened", "support"),
    "ticket_updated": ("support_ticket_updated", "support"),
    "ticket_resolved": ("support_ticket_resolved", "support"),
    "chat": ("chat_started", "chat"),
    "call": ("call", "phone"),
    "forum_post": ("forum_post", "forum"),
    "return": ("return_requested", "support"),
}


class SupportInteractionIn(TouchpointFields):
    """A ticket, chat, call, forum post or return, from a help desk or contact centre."""

    model_config = ConfigDict(extra="forbid")

    interaction_id: Identifier | None = Field(
        default=None, description="Idempotency key; the server generates one when absent."
    )
    kind: InteractionKind
    channel: Channel | None = Field(default=None, description="Defaults by kind (call: phone).")
    ticket_id: Identifier | None = None
    agent: str | None = Field(default=None, max_length=200)
    timestamp: EventTime = None
    sent_at: AwareDatetime | None = None


class SurveyIn(TouchpointFields):
    """An NPS or CSAT answer, with its comment."""

    model_config = ConfigDict(extra="forbid")

    response_id: Identifier | None = Field(
        default=None, description="Idempotency key; the server generates one when absent."
    )
    survey: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=5000)
    channel: Channel = "email"
    timestamp: EventTime = None
    sent_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _has_a_score(self) -> Self:
        if self.nps is None and self.csat is None:
            raise ValueError("give nps (0-10) or csat (1-5)")
        return self
