"""The stage catalogue: which touchpoint types belong to which journey stage.

The catalogue is data, not code, so the stage model can be configured. Stages are
ordered; a journey only moves forward to the highest stage it has seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from shared.domain.touchpoint import Touchpoint

# Time, stage rank, event id: see StageCatalogue.order_key.
OrderKey = tuple[datetime, int, str]

DEFAULT_STAGES: tuple[str, ...] = ("awareness", "consideration", "decision", "service", "loyalty")

DEFAULT_STAGE_TYPES: Mapping[str, tuple[str, ...]] = {
    "awareness": (
        "ad_impression",
        "ad_click",
        "social_impression",
        "social_click",
        "referral_visit",
        "word_of_mouth",
    ),
    "consideration": (
        "page_view",
        "product_view",
        "search",
        "email_open",
        "email_click",
        "social_post_view",
        "info_request",
        "compare",
    ),
    "decision": ("add_to_cart", "checkout_started", "purchase"),
    "service": (
        "support_ticket_opened",
        "support_ticket_updated",
        "support_ticket_resolved",
        "chat_started",
        "call",
        "forum_post",
        "return_requested",
    ),
    "loyalty": (
        "repeat_purchase",
        "offer_redeemed",
        "loyalty_joined",
        "newsletter_subscribed",
        "review_posted",
        "referral_given",
        "blog_subscribed",
    ),
}

DEFAULT_ERROR_TYPES: tuple[str, ...] = (
    "payment_failed",
    "page_error",
    "form_error",
    "delivery_failed",
)
DEFAULT_SUPPORT_CONTACT_TYPES: tuple[str, ...] = ("support_ticket_opened", "chat_started", "call")


@dataclass(frozen=True)
class StageCatalogue:
    """Ordered stages and the event types that place a journey in each of them."""

    stages: tuple[str, ...] = DEFAULT_STAGES
    stage_types: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_STAGE_TYPES)
    )
    conversion_type: str = "purchase"
    # A conversion after the journey converted is recorded as this type instead.
    repeat_conversion_type: str = "repeat_purchase"
    error_types: frozenset[str] = frozenset(DEFAULT_ERROR_TYPES)
    support_contact_types: frozenset[str] = frozenset(DEFAULT_SUPPORT_CONTACT_TYPES)

    def __post_init__(self) -> None:
        unknown = set(self.stage_types) - set(self.stages)
        if unknown:
            raise ValueError(f"stage_types names stages not in stages: {sorted(unknown)}")
        self._stage_by_type  # noqa: B018 - validates the catalogue at construction

    @cached_property
    def _stage_by_type(self) -> dict[str, str]:
        stage_by_type: dict[str, str] = {}
        for stage, types in self.stage_types.items():
            for event_type in types:
                if event_type in stage_by_type:
                    raise ValueError(
                        f"event type {event_type!r} is in both "
                        f"{stage_by_type[event_type]!r} and {stage!r}"
                    )
                stage_by_type[event_type] = stage
        return stage_by_type

    @cached_property
    def _rank_by_stage(self) -> dict[str, int]:
        return {stage: i for i, stage in enumerate(self.stages)}

    def stage_of(self, event_type: str) -> str | None:
        """The stage an event type belongs to, or None for a neutral event."""
        return self._stage_by_type.get(event_type)

    def rank(self, stage: str) -> int:
        return self._rank_by_stage[stage]

    def order_key(self, touchpoint: Touchpoint) -> OrderKey:
        """Touchpoints in time order; at equal times by stage (awareness first, neutral
        events last), then by id. Clients stamp milliseconds: an ad click, a product view
        and a cart in one millisecond still read awareness, consideration, decision."""
        stage = self._stage_by_type.get(touchpoint.type)
        rank = len(self.stages) if stage is None else self._rank_by_stage[stage]
        return (touchpoint.occurred_at, rank, touchpoint.event_id)

    def is_error(self, event_type: str) -> bool:
        return event_type in self.error_types

    def is_support_contact(self, event_type: str) -> bool:
        return event_type in self.support_contact_types

    def event_types(self) -> Iterable[str]:
        for types in self.stage_types.values():
            yield from types


DEFAULT_CATALOGUE = StageCatalogue()
