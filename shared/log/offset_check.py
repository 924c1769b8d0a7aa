"""Whether a stored offset can go on from where the log is now.

The maps store the last offset they hold, with a digest of the record there. Going on
from there is right only while the log still holds the records after it:
- a topic deleted and recreated, or a log that restarted empty, ends before that
  offset, or, once new traffic passed it, holds another record there;
- retention may have deleted records before they were read.
Either way, going on would skip acknowledged events without a word, so the partition
stops until an operator decides (`journeymap offsets reset`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

GapKind = Literal["past_end", "before_start", "out_of_range", "replaced", "unchecked"]


@dataclass(frozen=True, slots=True)
class OffsetGap:
    kind: GapKind
    # How far apart the stored position and the log are, in records.
    records: int
    reason: str


@dataclass(frozen=True, slots=True)
class StoredPosition:
    # The last offset in the maps, -1 for none.
    offset: int
    # The digest of the record at `offset` when the maps read it; None when not known
    # (nothing read yet, an offset an operator set, or stored before digests were kept).
    digest: bytes | None


def record_digest(key: bytes | None, value: bytes | None) -> bytes:
    """What identifies a record's content, to tell it from another at the same offset."""
    return hashlib.blake2b((key or b"") + b"\0" + (value or b""), digest_size=16).digest()


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


def record_to_check(position: StoredPosition, start: int, end: int) -> bool:
    """Whether deciding needs the record now at the stored offset: the log says it holds
    it and the maps know what it was, or the log's end says it does not (a broker's
    end offset may lag its log; Tansu's does)."""
    gap = offset_gap(position.offset, start, end)
    if gap is None:
        return position.digest is not None and position.offset >= start
    return gap.kind == "past_end"


def position_gap(
    position: StoredPosition, start: int, end: int, held: bytes | None
) -> OffsetGap | None:
    """Like offset_gap, also judging the record at the stored offset where
    record_to_check asks for it: `held` is its digest, None if the log had none."""
    gap = offset_gap(position.offset, start, end)
    if not record_to_check(position, start, end):
        return gap
    if held is None:
        return gap or lost_record(position.offset)
    if position.digest is not None and held != position.digest:
        return OffsetGap(
            "replaced",
            position.offset + 1 - start,
            f"the record at offset {position.offset} is not the one the maps read: the "
            "topic was recreated or the log restarted empty, and new events passed that "
            "offset before it was noticed",
        )
    return None


def lost_record(offset: int) -> OffsetGap:
    return OffsetGap(
        "out_of_range",
        0,
        f"the log no longer holds the record at offset {offset} that the maps read: the "
        "topic was recreated or the log restarted empty",
    )


def unchecked(error: BaseException) -> OffsetGap:
    """The log could not be asked: not a verdict, so the partition waits and asks again."""
    return OffsetGap(
        "unchecked", 0, f"could not check the stored offset against the log: {error!r}"
    )
