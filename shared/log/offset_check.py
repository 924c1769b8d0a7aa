"""Whether a stored offset can go on from where the log is now.

The maps store the last offset they hold. Going on from there is right only while the
log still holds the records after it: a topic deleted and recreated, or a log that
restarted empty, ends before that offset; retention may have deleted records before
they were read. Either way, going on would skip acknowledged events without a word,
so the partition stops until an operator decides (`journeymap offsets reset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GapKind = Literal["past_end", "before_start", "out_of_range"]


@dataclass(frozen=True, slots=True)
class OffsetGap:
    kind: GapKind
    # How far apart the stored position and the log are, in records.
    records: int
    reason: str


def offset_gap(stored: int, start: int, end: int) -> OffsetGap | None:
    """`stored` is the last offset in the maps (-1 for none); `start` the log's first
    offset and `end` the one after its last. None when reading on from `stored` is right."""
    following = stored + 1
    if following > end:
        return OffsetGap(
            "past_end",
            following - end,
            f"the maps hold offsets up to {stored} but the log ends at {end}: the topic "
            "was recreated or the log restarted empty",
        )
    if following < start:
        return OffsetGap(
            "before_start",
            start - following,
            f"the log starts at {start} but the maps hold offsets up to {stored}: "
            f"{start - following} records were deleted (retention) before they were read",
        )
    return None
