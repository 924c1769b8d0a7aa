"""Produce, Fetch (long-poll) and ListOffsets."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NamedTuple

from aiokafka.protocol.fetch import FetchResponse_v11
from aiokafka.protocol.offset import OffsetResponse_v3
from aiokafka.protocol.produce import (
    ProduceResponse_v3,
    ProduceResponse_v4,
    ProduceResponse_v5,
    ProduceResponse_v6,
    ProduceResponse_v7,
)

from .context import BrokerContext
from .errors import ErrorCode
from .log import CorruptBatchError, PartitionLog, split_batches
from .protocol import RequestHeader

log = logging.getLogger(__name__)

_PRODUCE_RESPONSES: dict[int, type[Any]] = {
    3: ProduceResponse_v3,
    4: ProduceResponse_v4,
    5: ProduceResponse_v5,
    6: ProduceResponse_v6,
    7: ProduceResponse_v7,
}
_LATEST = -1
_EARLIEST = -2


def _append(
    ctx: BrokerContext, topic: str, partition: int, message_set: bytes | None
) -> tuple[ErrorCode, int]:
    plog = ctx.topics.get(topic, partition)
    if plog is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1
    try:
        batches = split_batches(message_set or b"")
    except CorruptBatchError as exc:
        log.warning("rejected produce to %s-%d: %s", topic, partition, exc)
        return ErrorCode.CORRUPT_MESSAGE, -1
    first_offset = -1
    for batch in batches:
        verdict = ctx.producers.check(
            topic,
            partition,
            batch.producer_id,
            batch.producer_epoch,
            batch.base_sequence,
            batch.last_sequence,
        )
        if verdict.error:
            log.info(
                "rejected batch for %s-%d from producer %d (seq %d): %s",
                topic,
                partition,
                batch.producer_id,
                batch.base_sequence,
                verdict.error.name,
            )
            return verdict.error, -1
        if verdict.duplicate_of is not None:
            base = verdict.duplicate_of
            log.info("duplicate batch for %s-%d acknowledged at offset %d", topic, partition, base)
        else:
            base = plog.append(batch)
            ctx.producers.record(
                topic,
                partition,
                batch.producer_id,
                batch.producer_epoch,
                batch.base_sequence,
                batch.last_sequence,
                base,
            )
        if first_offset < 0:
            first_offset = base
    return ErrorCode.NONE, first_offset


async def handle_produce(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any | None:
    acks = request.required_acks
    topics_out = []
    for topic, partitions in request.topics:
        parts_out: list[tuple[Any, ...]] = []
        for partition, message_set in partitions:
            if ctx.produce_error is not None:
                error, base = ctx.produce_error, -1
            elif acks in (0, 1, -1):
                error, base = _append(ctx, topic, partition, message_set)
            else:
                error, base = ErrorCode.INVALID_REQUIRED_ACKS, -1
            if header.api_version >= 5:
                parts_out.append((partition, error, base, -1, 0))
            else:
                parts_out.append((partition, error, base, -1))
        topics_out.append((topic, parts_out))
    if acks == 0:
        return None  # acks=0: the client expects no response at all
    return _PRODUCE_RESPONSES[header.api_version](topics=topics_out, throttle_time_ms=0)


class _FetchTarget(NamedTuple):
    topic: str
    partition: int
    offset: int
    max_bytes: int


def _fetch_ready(
    ctx: BrokerContext, targets: list[_FetchTarget], min_bytes: int
) -> tuple[bool, list[PartitionLog]]:
    """Whether to answer now (data >= min_bytes, or an error to report)."""
    logs: list[PartitionLog] = []
    available = 0
    for target in targets:
        plog = ctx.topics.get(target.topic, target.partition)
        if plog is None or not plog.log_start_offset <= target.offset <= plog.high_watermark:
            return True, logs
        logs.append(plog)
        available += plog.bytes_available(target.offset)
    return available >= min_bytes, logs


def _fetch_partition(
    plog: PartitionLog | None, target: _FetchTarget, budget: int
) -> tuple[Any, ...]:
    if plog is None:
        return (target.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1, None, -1, b"")
    hw = plog.high_watermark
    start = plog.log_start_offset
    if not start <= target.offset <= hw:
        return (target.partition, ErrorCode.OFFSET_OUT_OF_RANGE, hw, hw, start, None, -1, b"")
    data = plog.read(target.offset, min(target.max_bytes, budget)) if budget > 0 else b""
    # No transactions: the last stable offset is the high watermark.
    return (target.partition, ErrorCode.NONE, hw, hw, start, None, -1, data)


async def handle_fetch(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(request.max_wait_time, 0) / 1000
    targets = [
        _FetchTarget(topic, partition, fetch_offset, part_max)
        for topic, partitions in request.topics
        for partition, _leader_epoch, fetch_offset, _log_start, part_max in partitions
    ]
    while True:
        ready, logs = _fetch_ready(ctx, targets, request.min_bytes)
        remaining = deadline - loop.time()
        if ready or remaining <= 0:
            break
        waiter: asyncio.Future[None] = loop.create_future()
        for plog in logs:
            plog.add_waiter(waiter)
        try:
            await asyncio.wait([waiter], timeout=remaining)
        finally:
            for plog in logs:
                plog.remove_waiter(waiter)
            waiter.cancel()

    budget = max(request.max_bytes, 1)
    by_topic: dict[str, list[tuple[Any, ...]]] = {}
    for target in targets:
        part = _fetch_partition(ctx.topics.get(target.topic, target.partition), target, budget)
        budget -= len(part[-1])
        by_topic.setdefault(target.topic, []).append(part)
    return FetchResponse_v11(
        throttle_time_ms=0, error_code=ErrorCode.NONE, session_id=0, topics=list(by_topic.items())
    )


def _list_offset(plog: PartitionLog | None, partition: int, timestamp: int) -> tuple[Any, ...]:
    if plog is None:
        return (partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
    if timestamp == _LATEST:
        return (partition, ErrorCode.NONE, -1, plog.high_watermark)
    if timestamp == _EARLIEST:
        return (partition, ErrorCode.NONE, -1, plog.log_start_offset)
    found = plog.offset_for_timestamp(timestamp)
    if found is None:
        return (partition, ErrorCode.NONE, -1, -1)
    offset, record_timestamp = found
    return (partition, ErrorCode.NONE, record_timestamp, offset)


async def handle_list_offsets(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    topics = [
        (topic, [_list_offset(ctx.topics.get(topic, p), p, ts) for p, ts in partitions])
        for topic, partitions in request.topics
    ]
    return OffsetResponse_v3(throttle_time_ms=0, topics=topics)
