"""Idempotent producer state: producer ids, epochs and per-partition sequences.

Mirrors the broker side of KIP-98 for non-transactional idempotent producers:
the last five batches per (producer id, partition) are remembered, a retried
batch matching one of them is acknowledged with its original offset and not
stored again, and a sequence gap is answered with OUT_OF_ORDER_SEQUENCE_NUMBER.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from .errors import ErrorCode

_RETAINED_BATCHES = 5
_MAX_SEQUENCE = 2**31 - 1


@dataclass(frozen=True)
class _BatchMetadata:
    first_sequence: int
    last_sequence: int
    base_offset: int


@dataclass
class _ProducerPartitionState:
    epoch: int
    batches: deque[_BatchMetadata] = field(default_factory=lambda: deque(maxlen=_RETAINED_BATCHES))


@dataclass(frozen=True)
class SequenceVerdict:
    """Outcome of checking a batch: append it, acknowledge a duplicate, or reject."""

    error: ErrorCode = ErrorCode.NONE
    duplicate_of: int | None = None  # base offset of the already-stored batch


APPEND = SequenceVerdict()


def _next_sequence(sequence: int) -> int:
    return 0 if sequence == _MAX_SEQUENCE else sequence + 1


class ProducerStateTable:
    def __init__(self, first_producer_id: int = 1000) -> None:
        self._ids = itertools.count(first_producer_id)
        self._state: dict[tuple[int, str, int], _ProducerPartitionState] = {}

    def allocate(self) -> tuple[int, int]:
        """A fresh (producer id, epoch) for InitProducerId."""
        return next(self._ids), 0

    def check(
        self,
        topic: str,
        partition: int,
        producer_id: int,
        epoch: int,
        first_seq: int,
        last_seq: int,
    ) -> SequenceVerdict:
        if producer_id < 0:
            return APPEND
        state = self._state.get((producer_id, topic, partition))
        if state is None or epoch > state.epoch:
            return APPEND if first_seq == 0 else _out_of_order()
        if epoch < state.epoch:
            return SequenceVerdict(error=ErrorCode.INVALID_PRODUCER_EPOCH)
        for meta in state.batches:
            if meta.first_sequence == first_seq and meta.last_sequence == last_seq:
                return SequenceVerdict(duplicate_of=meta.base_offset)
        if not state.batches or first_seq == _next_sequence(state.batches[-1].last_sequence):
            return APPEND
        return _out_of_order()

    def record(
        self,
        topic: str,
        partition: int,
        producer_id: int,
        epoch: int,
        first_seq: int,
        last_seq: int,
        base_offset: int,
    ) -> None:
        if producer_id < 0:
            return
        key = (producer_id, topic, partition)
        state = self._state.get(key)
        if state is None or epoch != state.epoch:
            state = self._state[key] = _ProducerPartitionState(epoch)
        state.batches.append(_BatchMetadata(first_seq, last_seq, base_offset))


def _out_of_order() -> SequenceVerdict:
    return SequenceVerdict(error=ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
