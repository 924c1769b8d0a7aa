"""What a topic's log holds: each partition's first and next offsets, and the records
at given offsets, asked of the brokers by clients outside any group (so asking moves
no one's offsets)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import OffsetOutOfRangeError

from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_stop import stop_consumer
from shared.log.offset_check import record_digest

# How long to wait for a record the log may hold: a fetch that answers nothing in this
# time counts as no record there (a busy broker is asked again by the next check).
RECORD_WAIT_SECONDS = 5.0


async def log_bounds(connection: KafkaConnection, topic: str) -> dict[int, tuple[int, int]]:
    """Per partition: (first offset the log holds, offset after its last record)."""
    tps = [TopicPartition(topic, p) for p in await _partitions(connection, topic)]
    consumer = AIOKafkaConsumer(**connection.options("offsets"), enable_auto_commit=False)
    try:
        await consumer.start()
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await stop_consumer(consumer)
    return {tp.partition: (starts[tp], ends[tp]) for tp in tps}


async def record_digests(
    connection: KafkaConnection, offsets: dict[TopicPartition, int]
) -> dict[TopicPartition, bytes | None]:
    """The digest of the record at each offset, or None where the log has none.

    Raises RecordUnread where the brokers did not say in time."""
    found: dict[TopicPartition, bytes | None] = dict.fromkeys(offsets)
    wanted = {tp: offset for tp, offset in offsets.items() if offset >= 0}
    if not wanted:
        return found
    probe = AIOKafkaConsumer(
        **connection.options("offset-check"), enable_auto_commit=False, auto_offset_reset="none"
    )
    try:
        await probe.start()
        probe.assign(list(wanted))
        for tp, offset in wanted.items():
            probe.seek(tp, offset)
        for tp, offset in wanted.items():
            found[tp] = await _digest_at(probe, tp, offset)
    finally:
        await stop_consumer(probe)
    return found


class RecordUnread(LookupError):
    """The brokers did not answer whether they hold a record: nothing can be judged."""


async def _digest_at(probe: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> bytes | None:
    deadline = asyncio.get_running_loop().time() + RECORD_WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        try:
            fetched = await probe.getmany(tp, timeout_ms=500)
        except OffsetOutOfRangeError:
            return None
        messages = fetched.get(tp, [])
        if messages:
            # Fetches start at the sought offset: a first record after it means none there.
            at = messages[0]
            return record_digest(at.key, at.value) if at.offset == offset else None
        highwater = probe.highwater(tp)
        if highwater is not None and offset >= highwater:
            return None  # the broker answered: its log ends before the offset
        # No answer yet, or an empty one for a record the log holds (a response that
        # filled up on other partitions): fetch again.
    raise RecordUnread(
        f"the log did not hand out the record at offset {offset} of {tp.topic}[{tp.partition}] "
        f"within {RECORD_WAIT_SECONDS:.0f} s"
    )


async def _partitions(connection: KafkaConnection, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**connection.options("admin"))
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(
        p["partition"] for t in described if t["topic"] == topic for p in t["partitions"]
    )
    if not partitions:
        raise LookupError(f"the topic {topic!r} does not exist on {connection.describe()}")
    return partitions
