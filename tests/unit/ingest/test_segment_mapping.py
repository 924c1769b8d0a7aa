"""Segment calls to touchpoints: the name mapping, product, revenue, identity, time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.ingest.normalise import EventRejected, TimeBounds
from services.ingest.segment.mapping import event_map, known_types, to_log_event
from services.ingest.segment.messages import SegmentMessage
from shared.domain.stages import DEFAULT_CATALOGUE
from shared.schemas.log_event import LogEvent

RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def convert(
    message: dict[str, Any],
    *,
    context: dict[str, Any] | None = None,
    sent_at: datetime | None = None,
    overrides: dict[str, str] | None = None,
) -> LogEvent:
    return to_log_event(
        SegmentMessage.model_validate({"userId": "u1", **message}),
        batch_context=context or {},
        batch_sent_at=sent_at,
        received_at=RECEIVED,
        source="site",
        names=event_map(overrides or {}),
        known_types=known_types(DEFAULT_CATALOGUE),
        time_bounds=TimeBounds(datetime(2000, 1, 1, tzinfo=UTC), timedelta(days=1)),
    )


@pytest.mark.parametrize(
    ("message", "event_type", "channel"),
    [
        ({"type": "track", "event": "Product Viewed"}, "product_view", "web"),
        ({"type": "track", "event": "Products Searched"}, "search", "web"),
        ({"type": "track", "event": "Product Added"}, "add_to_cart", "web"),
        ({"type": "track", "event": "Checkout Started"}, "checkout_started", "web"),
        ({"type": "track", "event": "Order Completed"}, "purchase", "web"),
        ({"type": "track", "event": "Promotion Viewed"}, "ad_impression", "ads"),
        ({"type": "track", "event": "Promotion Clicked"}, "ad_click", "ads"),
        ({"type": "track", "event": "Email Opened"}, "email_open", "email"),
        ({"type": "track", "event": "Email Link Clicked"}, "email_click", "email"),
        ({"type": "page", "name": "Home"}, "page_view", "web"),
        ({"type": "screen", "name": "Cart"}, "page_view", "mobile"),
        ({"type": "identify", "traits": {"plan": "pro"}}, "identify", "web"),
        ({"type": "group", "groupId": "acme"}, "group", "web"),
        # A catalogue type passes through; any other name stays as a neutral touchpoint.
        ({"type": "track", "event": "add_to_cart"}, "add_to_cart", "web"),
        ({"type": "track", "event": "Video Played!"}, "track:video_played", "web"),
        (
            {"type": "track", "event": "Product Viewed", "context": {"os": {"name": "iOS"}}},
            "product_view",
            "mobile",
        ),
    ],
)
def test_names_map_onto_the_catalogue(
    message: dict[str, Any], event_type: str, channel: str
) -> None:
    event = convert(message)

    assert (event.type, event.channel) == (event_type, channel)


def test_configured_names_add_to_the_defaults() -> None:
    event = convert(
        {"type": "track", "event": "Signed Up"}, overrides={"Signed Up": "loyalty_joined"}
    )

    assert event.type == "loyalty_joined"


@pytest.mark.parametrize(
    ("properties", "product", "revenue"),
    [
        ({"product_id": "sku-1"}, "sku-1", None),
        ({"product_id": 42}, "42", None),
        ({"products": [{"product_id": "a"}, {"product_id": "b"}], "revenue": 30}, "a", "30"),
        ({"products": [{"product_id": "a"}], "total": 12.5}, "a", "12.5"),
        ({}, None, None),
    ],
)
def test_product_and_revenue_of_an_order(
    properties: dict[str, Any], product: str | None, revenue: str | None
) -> None:
    event = convert({"type": "track", "event": "Order Completed", "properties": properties})

    assert event.product_id == product
    assert event.revenue == (None if revenue is None else Decimal(revenue))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({}, RECEIVED, id="no time: received"),
        pytest.param(
            {"timestamp": "2026-11-23T11:00:00Z"},
            datetime(2026, 11, 23, 11, 0, tzinfo=UTC),
            id="timestamp as given",
        ),
        pytest.param(
            {"originalTimestamp": "2026-11-23T10:00:00Z", "sentAt": "2026-11-23T10:30:00Z"},
            datetime(2026, 11, 23, 11, 30, tzinfo=UTC),
            id="receivedAt - (sentAt - originalTimestamp)",
        ),
        pytest.param(
            {"originalTimestamp": "2026-11-23T14:00:00Z", "sentAt": "2026-11-23T14:01:00Z"},
            datetime(2026, 11, 23, 11, 59, tzinfo=UTC),
            id="client clock two hours fast",
        ),
        pytest.param(
            {"timestamp": "2026-11-23T11:00:00"},
            datetime(2026, 11, 23, 11, 0, tzinfo=UTC),
            id="no offset means UTC",
        ),
    ],
)
def test_clock_skew_correction(fields: dict[str, Any], expected: datetime) -> None:
    event = convert({"type": "track", "event": "Product Viewed", **fields})

    assert event.occurred_at == expected


def test_the_batch_sent_at_applies_to_its_messages() -> None:
    event = convert(
        {"type": "page", "originalTimestamp": "2026-11-23T10:00:00Z"},
        sent_at=datetime(2026, 11, 23, 10, 0, 10, tzinfo=UTC),
    )

    assert event.occurred_at == RECEIVED - timedelta(seconds=10)


def test_batch_context_is_inherited_and_kept_as_metadata() -> None:
    event = convert(
        {"type": "page", "messageId": "m1", "context": {"page": {"path": "/cart"}}},
        context={"ip": "203.0.113.9", "userAgent": "Firefox", "campaign": {"name": "fall"}},
    )

    assert event.event_id == "m1"
    assert event.properties["context"] == {
        "page": {"path": "/cart"},
        "campaign": {"name": "fall"},
        "userAgent": "Firefox",
        "ip": "203.0.113.9",
    }


def test_alias_links_the_previous_id() -> None:
    event = convert({"type": "alias", "previousId": "anon-7", "userId": "u1"})

    assert (event.type, event.customer_id, event.anonymous_id) == ("alias", "u1", "anon-7")


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "userId": None, "event": "Product Viewed"}, "userId"),
        ({"type": "track"}, "event"),
        ({"type": "alias", "userId": "u1"}, "previousId"),
        ({"type": "page", "timestamp": "2031-01-01T00:00:00Z"}, "timestamp"),
    ],
)
def test_unusable_calls_name_the_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(EventRejected) as refused:
        convert(message)

    assert refused.value.field == field


@pytest.mark.parametrize(
    "context",
    [
        pytest.param({"os": "iOS 17"}, id="os as a string"),
        pytest.param({"os": ["iOS"]}, id="os as a list"),
        pytest.param({"os": 17}, id="os as a number"),
        pytest.param({"os": {"name": 17}}, id="os name as a number"),
        pytest.param({"device": "iPhone"}, id="device as a string"),
        pytest.param({"device": {"type": ["ios"]}}, id="device type as a list"),
    ],
)
def test_context_of_an_unexpected_shape_is_kept_and_means_web(context: dict[str, Any]) -> None:
    event = convert({"type": "track", "event": "Product Viewed", "context": context})

    assert event.channel == "web"
    assert event.properties["context"] == context


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"product_id": {"a": 1}}, "properties.product_id"),
        ({"product_id": ["bike"]}, "properties.product_id"),
        ({"product_id": True}, "properties.product_id"),
        ({"products": [{"product_id": {"a": 1}}]}, "properties.products.0.product_id"),
    ],
)
def test_a_structured_product_id_is_refused(properties: dict[str, Any], field: str) -> None:
    with pytest.raises(EventRejected) as refused:
        convert({"type": "track", "event": "Product Viewed", "properties": properties})

    assert refused.value.field == field
    assert "must be a string or a number" in refused.value.message
