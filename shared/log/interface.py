"""The event log interface, shared by the PostgreSQL log and the Kafka log.

Writers append with a durable acknowledgement. Readers deliver batches from the
position stored with the maps; the aggregator stores the new position in the same
transaction as the state the batch produced, then tells the reader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.errors import JourneymapError
from shared.log.offset_check import OffsetGap, record_digest


class LogUnavailable(JourneymapError):
    """The log could not durably accept the events in time; nothing was acknowledged."""

    retriable = True


class LogRejected(JourneymapError):
    """The log refused the events (an error a person must look at: authorisation, a
    topic the broker no longer knows); nothing was acknowledged."""

    retriable = False


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What a writer appends: the key keeps one customer's events in order."""

    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class LogRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class LogBatch:
    records: Sequence[LogRecord]
    # Per partition in the batch: the stored offset the reader started from. The
    # stored offset may only advance from this value (a guard against zombie readers).
    start_offsets: Mapping[int, int]

    @property
    def end_offsets(self) -> dict[int, int]:
        ends = dict(self.start_offsets)
        for record in self.records:
            ends[record.partition] = max(ends[record.partition], record.offset)
        return ends

    @property
    def end_digests(self) -> dict[int, bytes]:
        """Per partition in the batch: the digest of its last record, stored with the
        offset so a log that holds another record there later is noticed."""
        last: dict[int, LogRecord] = {}
        for record in self.records:
            if record.partition not in last or record.offset > last[record.partition].offset:
                last[record.partition] = record
        return {p: record_digest(r.key, r.value) for p, r in last.items()}


class EventLogWriter(Protocol):
    @property
    def pending(self) -> int:
        """Events handed to the log and not yet acknowledged or failed."""
        ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def append(self, entries: Sequence[LogEntry]) -> None:
        """Return once every entry is durably in the log; raise LogUnavailable otherwise."""
        ...

    async def check_ready(self) -> None:
        """Readiness: raise unless appends can currently succeed."""
        ...


class EventLogReader(Protocol):
    topic: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def read(self, max_records: int, max_wait_seconds: float) -> LogBatch:
        """The next records after the stored offsets (possibly none after `max_wait_seconds`)."""
        ...

    async def committed(self, batch: LogBatch) -> None:
        """The batch's state and offsets are committed: continue after it."""
        ...

    async def rewind(self) -> None:
        """The batch was not committed: deliver again from the stored offsets."""
        ...

    async def lag(self) -> dict[int, int]:
        """Per partition: records in the log that this reader has not delivered yet."""
        ...

    def stopped(self) -> dict[int, OffsetGap]:
        """Owned partitions not read because the log does not follow their stored offset."""
        ...

    def committed_positions(self) -> dict[int, int]:
        """Per owned partition: the last offset whose batch is committed (as stored)."""
        ...
