"""Partition storage: raw magic-2 record batches, offsets assigned on append.

Batches are stored exactly as the producer sent them (compressed or not); only
the 8-byte base offset at the front is overwritten, which the CRC does not
cover. Fetch returns the stored bytes concatenated. Nothing on the produce path
decodes individual records.
"""

from __future__ import annotations

import asyncio
import bisect
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiokafka.record.default_records import DefaultRecordBatch

# BaseOffset, Length, PartitionLeaderEpoch, Magic, CRC, Attributes, LastOffsetDelta,
# FirstTimestamp, MaxTimestamp, ProducerId, ProducerEpoch, BaseSequence, RecordCount
_HEADER = struct.Struct(">qiibIhiqqqhii")
_BASE_OFFSET = struct.Struct(">q")
_LOG_OVERHEAD = 12  # base offset + length
_CONTROL_FLAG = 0x20
_TRANSACTIONAL_FLAG = 0x10


class CorruptBatchError(ValueError):
    """A produced message set is not a sequence of valid magic-2 batches."""


class BatchHeader(NamedTuple):
    data: bytes
    magic: int
    attributes: int
    last_offset_delta: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int

    @property
    def offset_count(self) -> int:
        return self.last_offset_delta + 1

    @property
    def last_sequence(self) -> int:
        return self.base_sequence + self.last_offset_delta

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & _TRANSACTIONAL_FLAG)


def split_batches(message_set: bytes) -> list[BatchHeader]:
    """Split a produced message set into batches, validating framing, magic and CRC."""
    batches: list[BatchHeader] = []
    pos = 0
    total = len(message_set)
    while pos < total:
        if total - pos < _HEADER.size:
            raise CorruptBatchError("truncated record batch header")
        (_, length, _, magic, _, attributes, last_delta, _, max_ts, pid, epoch, base_seq, _) = (
            _HEADER.unpack_from(message_set, pos)
        )
        end = pos + _LOG_OVERHEAD + length
        if magic != 2:
            raise CorruptBatchError(f"unsupported record batch magic {magic}")
        if length < _HEADER.size - _LOG_OVERHEAD or end > total:
            raise CorruptBatchError("record batch length does not match the message set")
        if last_delta < 0:
            raise CorruptBatchError("record batch has a negative last offset delta")
        data = message_set[pos:end]
        if not DefaultRecordBatch(data).validate_crc():
            raise CorruptBatchError("record batch CRC mismatch")
        batches.append(
            BatchHeader(data, magic, attributes, last_delta, max_ts, pid, epoch, base_seq)
        )
        pos = end
    if not batches:
        raise CorruptBatchError("empty message set")
    return batches


@dataclass(frozen=True)
class StoredRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int


def _decode_batch(data: bytes) -> Iterator[Any]:
    batch: Any = DefaultRecordBatch(data)
    if batch.attributes & _CONTROL_FLAG:
        return
    yield from batch


class PartitionLog:
    """One partition: a list of stored batches plus bisectable base offsets."""

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self._batches: list[bytes] = []
        self._base_offsets: list[int] = []
        self._max_timestamps: list[int] = []
        self._size_before: list[int] = []  # bytes stored before batch i
        self._total_bytes = 0
        self._next_offset = 0
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def log_start_offset(self) -> int:
        return 0

    @property
    def high_watermark(self) -> int:
        return self._next_offset

    @property
    def batch_count(self) -> int:
        return len(self._batches)

    def append(self, batch: BatchHeader) -> int:
        """Store one batch, returning the base offset it was assigned."""
        base = self._next_offset
        data = bytearray(batch.data)
        _BASE_OFFSET.pack_into(data, 0, base)
        self._batches.append(bytes(data))
        self._base_offsets.append(base)
        self._max_timestamps.append(batch.max_timestamp)
        self._size_before.append(self._total_bytes)
        self._total_bytes += len(data)
        self._next_offset = base + batch.offset_count
        self._wake_waiters()
        return base

    def _batch_index(self, offset: int) -> int:
        """Index of the batch holding ``offset`` (or the first batch after it)."""
        return max(bisect.bisect_right(self._base_offsets, offset) - 1, 0)

    def bytes_available(self, offset: int) -> int:
        if offset >= self._next_offset or not self._batches:
            return 0
        return self._total_bytes - self._size_before[self._batch_index(offset)]

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Whole batches from the one holding ``offset``, at least one, then up to max_bytes."""
        if offset >= self._next_offset or not self._batches:
            return b""
        start = self._batch_index(offset)
        end = start + 1
        size = len(self._batches[start])
        while end < len(self._batches):
            size += len(self._batches[end])
            if size > max_bytes:
                break
            end += 1
        return b"".join(self._batches[start:end])

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= timestamp_ms."""
        for index, max_ts in enumerate(self._max_timestamps):
            if max_ts < timestamp_ms:
                continue
            for record in _decode_batch(self._batches[index]):
                if record.timestamp >= timestamp_ms:
                    return int(record.offset), int(record.timestamp)
        return None

    def records(self) -> list[StoredRecord]:
        out: list[StoredRecord] = []
        for data in self._batches:
            for record in _decode_batch(data):
                headers = tuple((str(k), bytes(v or b"")) for k, v in record.headers)
                out.append(
                    StoredRecord(
                        topic=self.topic,
                        partition=self.partition,
                        offset=int(record.offset),
                        key=record.key,
                        value=record.value,
                        headers=headers,
                        timestamp_ms=int(record.timestamp),
                    )
                )
        return out

    def add_waiter(self, waiter: asyncio.Future[None]) -> None:
        self._waiters.add(waiter)

    def remove_waiter(self, waiter: asyncio.Future[None]) -> None:
        self._waiters.discard(waiter)

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
