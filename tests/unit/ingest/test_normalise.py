from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.normalise import EventRejected, TimeBounds, corrected_time, normalise
from shared.schemas.native import TouchpointIn

RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BOUNDS = TimeBounds(datetime(2000, 1, 1, tzinfo=UTC), timedelta(days=1))


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "expected"),
    [
        pytest.param(None, None, RECEIVED, id="no timestamp: server time"),
        pytest.param(
            RECEIVED - timedelta(minutes=5), None, RECEIVED - timedelta(minutes=5), id="as given"
        ),
        pytest.param(
            datetime(2026, 11, 23, 11, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 11, 10, tzinfo=UTC),
            datetime(2026, 11, 23, 11, 50, tzinfo=UTC),
            id="client clock 1h slow",
        ),
        pytest.param(
            datetime(2026, 11, 23, 13, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 13, 0, 30, tzinfo=UTC),
            datetime(2026, 11, 23, 11, 59, 30, tzinfo=UTC),
            id="client clock 1h fast",
        ),
        pytest.param(
            datetime(2026, 11, 23, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            None,
            datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
            id="offsets are normalised to UTC",
        ),
    ],
)
def test_clock_skew_correction(
    timestamp: datetime | None, sent_at: datetime | None, expected: datetime
) -> None:
    corrected = corrected_time(timestamp, sent_at, RECEIVED)

    assert corrected == expected
    assert corrected.utcoffset() == timedelta(0)


def _event(**fields: object) -> TouchpointIn:
    return TouchpointIn.model_validate({"customer_id": "c1", "type": "page_view", **fields})


def test_normalise_fills_server_fields() -> None:
    event = normalise(_event(), received_at=RECEIVED, source="site", time_bounds=BOUNDS)

    assert event.received_at == RECEIVED
    assert event.occurred_at == RECEIVED
    assert event.source == "site"
    assert event.event_id


def test_far_future_events_are_refused() -> None:
    with pytest.raises(EventRejected, match="ahead of the server clock"):
        normalise(
            _event(timestamp="2030-01-01T00:00:00Z"),
            received_at=RECEIVED,
            source="site",
            time_bounds=BOUNDS,
        )


def test_times_too_far_apart_to_correct_are_refused() -> None:
    with pytest.raises(EventRejected, match="too far apart"):
        normalise(
            _event(timestamp="9589-07-27T19:51:52Z", sent_at="0841-05-27T15:43:55+07:46"),
            received_at=RECEIVED,
            source="site",
            time_bounds=BOUNDS,
        )


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        pytest.param("0001-01-01T00:00:00Z", "before 2000-01-01", id="year 1"),
        pytest.param("1999-12-31T23:59:59Z", "before 2000-01-01", id="just before the floor"),
        pytest.param("2026-11-25T12:00:00Z", "2 days ahead of the server clock (at most 1 day",
                     id="two days ahead"),
    ],
)  # fmt: skip
def test_event_times_have_a_floor_and_a_ceiling(timestamp: str, message: str) -> None:
    with pytest.raises(EventRejected, match=message.replace("(", r"\(")):
        normalise(_event(timestamp=timestamp), received_at=RECEIVED, source="s", time_bounds=BOUNDS)


def test_the_floor_itself_is_accepted() -> None:
    event = normalise(
        _event(timestamp="2000-01-01T00:00:00Z"),
        received_at=RECEIVED,
        source="s",
        time_bounds=BOUNDS,
    )

    assert event.occurred_at == BOUNDS.earliest


def test_occurred_at_is_another_name_for_timestamp() -> None:
    posted_back = _event(occurred_at="2026-11-20T10:00:00Z")

    assert posted_back.timestamp == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
