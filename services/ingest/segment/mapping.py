"""Segment calls to touchpoints: event names onto the stage catalogue, identity, time.

Event names of Segment's e-commerce and email specs map onto the catalogue; a name
that is already a catalogue type passes through; any other name is kept as a
neutral `track:<name>` touchpoint, never dropped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.ingest.normalise import EventRejected, TimeBounds, checked_time, type_name
from services.ingest.segment.messages import SegmentMessage
from shared.domain.stages import StageCatalogue
from shared.schemas.log_event import LogEvent


@dataclass(frozen=True, slots=True)
class Mapped:
    type: str
    channel: str | None = None  # None: from the context (web, or mobile)


DEFAULT_EVENT_MAP: Mapping[str, Mapped] = {
    "Product Viewed": Mapped("product_view"),
    "Product Clicked": Mapped("product_view"),
    "Products Searched": Mapped("search"),
    "Product List Viewed": Mapped("page_view"),
    "Product Added": Mapped("add_to_cart"),
    "Checkout Started": Mapped("checkout_started"),
    "Order Completed": Mapped("purchase"),
    "Order Refunded": Mapped("return_requested"),
    "Promotion Viewed": Mapped("ad_impression", "ads"),
    "Promotion Clicked": Mapped("ad_click", "ads"),
    "Email Opened": Mapped("email_open", "email"),
    "Email Link Clicked": Mapped("email_click", "email"),
    "Product Reviewed": Mapped("review_posted"),
    "Coupon Applied": Mapped("offer_redeemed"),
}

# Context fields kept with the touchpoint, as metadata.
KEPT_CONTEXT = ("page", "campaign", "userAgent", "ip", "library", "locale", "device", "os")
MOBILE_OS = {"ios", "android", "ipados"}


def event_map(overrides: Mapping[str, str]) -> dict[str, Mapped]:
    """The default names, with configured ones (`"Signed Up": "loyalty_joined"`) on top."""
    names = dict(DEFAULT_EVENT_MAP)
    names.update({name: Mapped(event_type) for name, event_type in overrides.items()})
    return names


def known_types(catalogue: StageCatalogue) -> frozenset[str]:
    """Types a track call may name directly: the catalogue's, errors, survey answers."""
    return frozenset(catalogue.event_types()) | catalogue.error_types | {"survey_response"}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:80] or "unnamed"


def _type_of(message: SegmentMessage, names: Mapping[str, Mapped], known: frozenset[str]) -> Mapped:
    if message.type == "page":
        return Mapped("page_view")
    if message.type == "screen":
        return Mapped("page_view", "mobile")
    if message.type != "track":
        return Mapped(message.type)
    if message.event is None:
        raise EventRejected("event", "a track call needs an 'event' name")
    if message.event in names:
        return names[message.event]
    if message.event in known:
        return Mapped(message.event)
    return Mapped(f"track:{slug(message.event)}")


def _object(value: Any) -> Mapping[str, Any]:
    """A context entry that should be an object; clients send other shapes too."""
    return value if isinstance(value, dict) else {}


def _channel(message: SegmentMessage, mapped: Mapped) -> str:
    if mapped.channel is not None:
        return mapped.channel
    device_type = _object(message.context.get("device")).get("type")
    os_name = _object(message.context.get("os")).get("name")
    if device_type in ("ios", "android", "mobile"):
        return "mobile"
    if isinstance(os_name, str) and os_name.lower() in MOBILE_OS:
        return "mobile"
    return "web"


def _product(properties: Mapping[str, Any]) -> str | None:
    field, product = "properties.product_id", properties.get("product_id")
    if product is None:
        products = properties.get("products")
        if isinstance(products, list) and products and isinstance(products[0], dict):
            field, product = "properties.products.0.product_id", products[0].get("product_id")
    if product is None:
        return None
    if isinstance(product, bool) or not isinstance(product, str | int | float):
        raise EventRejected(field, f"must be a string or a number, not {type_name(product)}")
    return str(product)


def _revenue(event_type: str, properties: Mapping[str, Any]) -> Decimal | None:
    value = properties.get("revenue")
    if value is None and event_type == "purchase":
        value = properties.get("total")
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise EventRejected("properties.revenue", f"{value!r} is not a number") from error


def _properties(message: SegmentMessage, context: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = dict(message.properties)
    if message.event is not None:
        properties.setdefault("event", message.event)
    if message.name is not None:
        properties.setdefault("name", message.name)
    if message.traits:
        properties["traits"] = message.traits
    if message.group_id is not None:
        properties["group_id"] = message.group_id
    kept = {key: context[key] for key in KEPT_CONTEXT if key in context}
    if kept:
        properties["context"] = kept
    return properties


def to_log_event(
    message: SegmentMessage,
    *,
    batch_context: Mapping[str, Any],
    batch_sent_at: datetime | None,
    received_at: datetime,
    source: str,
    names: Mapping[str, Mapped],
    known_types: frozenset[str],
    time_bounds: TimeBounds,
) -> LogEvent:
    """A Segment message as a touchpoint. Raises EventRejected with the field at fault."""
    customer_id = message.user_id
    anonymous_id = message.anonymous_id
    if message.type == "alias":
        if message.previous_id is None or customer_id is None:
            raise EventRejected("previousId", "an alias call needs 'previousId' and 'userId'")
        # The id being linked travels as the anonymous id; the aggregator links it.
        anonymous_id = message.previous_id
    if customer_id is None and anonymous_id is None:
        raise EventRejected("userId", "give 'userId' or 'anonymousId'")
    mapped = _type_of(message, names, known_types)
    context = {**batch_context, **message.context}
    occurred_at = checked_time(
        message.original_timestamp or message.timestamp,
        message.sent_at or batch_sent_at,
        received_at,
        time_bounds,
    )
    return LogEvent(
        event_id=message.message_id or str(uuid.uuid4()),
        customer_id=customer_id,
        anonymous_id=anonymous_id,
        type=mapped.type,
        channel=_channel(message, mapped),
        product_id=_product(message.properties),
        occurred_at=occurred_at,
        received_at=received_at,
        source=source,
        revenue=_revenue(mapped.type, message.properties),
        properties=_properties(message, context),
    )
