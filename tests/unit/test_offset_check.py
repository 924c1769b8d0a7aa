"""A stored offset against the log's bounds: go on, or stop and say why."""

from __future__ import annotations

import pytest

from shared.log.offset_check import (
    StoredPosition,
    offset_gap,
    position_gap,
    record_digest,
    record_to_check,
)


@pytest.mark.parametrize(
    ("stored", "start", "end", "kind", "records"),
    [
        (-1, 0, 0, None, 0),  # a new group on an empty log
        (-1, 0, 5, None, 0),  # a new group on a log it has not read
        (4, 0, 5, None, 0),  # up to date
        (2, 0, 5, None, 0),  # behind, nothing lost
        (2, 3, 5, None, 0),  # retention deleted only what was read
        (9, 0, 5, "past_end", 5),  # the topic was recreated with fewer records
        (9, 0, 0, "past_end", 10),  # the log restarted empty
        (-1, 4, 9, "before_start", 4),  # retention deleted records never read
        (2, 7, 9, "before_start", 4),
    ],
)
def test_a_stored_offset_goes_on_only_while_the_log_holds_what_follows(
    stored: int, start: int, end: int, kind: str | None, records: int
) -> None:
    gap = offset_gap(stored, start, end)

    if kind is None:
        assert gap is None
    else:
        assert gap is not None
        assert (gap.kind, gap.records) == (kind, records)
        assert str(stored) in gap.reason


READ = record_digest(b"cust-1", b'{"event_id": "e1"}')
OTHER = record_digest(b"cust-9", b'{"event_id": "e9"}')


@pytest.mark.parametrize(
    ("position", "start", "end", "checked"),
    [
        (StoredPosition(4, READ), 0, 9, True),  # in the log, and the maps know what it was
        (StoredPosition(4, None), 0, 9, False),  # nothing to compare it with
        (StoredPosition(-1, None), 0, 9, False),  # nothing read yet
        (StoredPosition(2, READ), 3, 9, False),  # deleted by retention after it was read
        (StoredPosition(9, READ), 0, 5, True),  # past the end the broker gives: look
        (StoredPosition(-1, None), 4, 9, False),  # before the start: no record decides it
    ],
)
def test_the_record_at_the_stored_offset_is_read_only_where_it_decides(
    position: StoredPosition, start: int, end: int, checked: bool
) -> None:
    assert record_to_check(position, start, end) is checked


def test_a_log_refilled_past_the_stored_offset_holds_another_record_there() -> None:
    gap = position_gap(StoredPosition(11, READ), 0, 15, OTHER)

    assert gap is not None
    assert (gap.kind, gap.records) == ("replaced", 12)
    assert "offset 11 is not the one the maps read" in gap.reason


def test_the_record_the_maps_read_lets_them_go_on() -> None:
    assert position_gap(StoredPosition(11, READ), 0, 15, READ) is None
    # A broker whose end offset lags its log (Tansu) still holds the record.
    assert position_gap(StoredPosition(11, READ), 0, 11, READ) is None


def test_a_record_the_log_says_it_holds_but_does_not_answer_stops_the_partition() -> None:
    gap = position_gap(StoredPosition(11, READ), 0, 15, None)

    assert gap is not None
    assert gap.kind == "out_of_range"


def test_past_the_end_with_no_record_there_stays_past_the_end() -> None:
    gap = position_gap(StoredPosition(11, READ), 0, 3, None)

    assert gap is not None
    assert (gap.kind, gap.records) == ("past_end", 9)


def test_a_stored_offset_without_a_digest_is_judged_by_the_bounds_alone() -> None:
    assert position_gap(StoredPosition(11, None), 0, 15, None) is None
