"""A stored offset against the log's bounds: go on, or stop and say why."""

from __future__ import annotations

import pytest

from shared.log.offset_check import offset_gap


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
