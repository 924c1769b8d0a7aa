"""The test Kafka broker (tests.kafka_broker) driven by the real aiokafka client over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata
from aiokafka.protocol.commit import OffsetCommitRequest, OffsetFetchRequest
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.group import (
    HeartbeatRequest,
    JoinGroupRequest,
    LeaveGroupRequest,
    MemberAssignment,
    SyncGroupRequest,
)
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.protocol.transaction import InitProducerIdRequest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from tests.kafka_broker import BrokerThread, ErrorCode, KafkaTestBroker

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST_GROUP: dict[str, Any] = {
    "session_timeout_ms": 3000,
    "heartbeat_interval_ms": 100,
    "retry_backoff_ms": 50,
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
}


# -- helpers ---------------------------------------------------------------------------


async def eventually(check: Callable[[], bool], *, what: str, within: float = 15.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)


async def consume(consumer: Any, count: int, *, within: float = 15.0) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + within
    while len(records) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"consumed {len(records)} of {count} records before the timeout")
        batches = await consumer.getmany(timeout_ms=200)
        for batch in batches.values():
            records.extend(batch)
    return records


def partitions_of(consumer: Any) -> set[int]:
    return {tp.partition for tp in consumer.assignment()}


def split_evenly(consumers: Iterable[Any], partitions: set[int]) -> bool:
    """Every consumer owns something, nobody shares, and all partitions are owned."""
    owned = [partitions_of(c) for c in consumers]
    union: set[int] = set().union(*owned)
    return all(owned) and union == partitions and sum(map(len, owned)) == len(partitions)


@contextlib.asynccontextmanager
async def raw_connection(broker: KafkaTestBroker) -> AsyncIterator[Any]:
    """An aiokafka connection (ApiVersions already negotiated) for raw requests."""
    conn = await create_conn("127.0.0.1", broker.port, request_timeout_ms=20000)
    try:
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def started(*clients: Any) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for client in clients:
            await client.start()
            stack.push_async_callback(client.stop)
        yield


class RawMember:
    """A consumer-group member speaking JoinGroup/SyncGroup/Heartbeat by hand."""

    def __init__(
        self,
        conn: Any,
        group: str,
        topic: str,
        *,
        session_timeout_ms: int,
        rebalance_timeout_ms: int = 3000,
    ) -> None:
        self.conn = conn
        self.group = group
        self.topic = topic
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.member_id = ""
        self.generation = -1
        self.saw_member_id_required = False

    async def join(self) -> Any:
        metadata = ConsumerProtocolMemberMetadata(0, [self.topic], b"").encode()
        while True:
            response = await self.conn.send(
                JoinGroupRequest(
                    self.group,
                    self.session_timeout_ms,
                    self.rebalance_timeout_ms,
                    self.member_id,
                    None,
                    "consumer",
                    [("roundrobin", metadata)],
                )
            )
            if response.error_code != ErrorCode.MEMBER_ID_REQUIRED:
                break
            self.saw_member_id_required = True
            self.member_id = response.member_id
        if response.error_code == ErrorCode.NONE:
            self.generation = response.generation_id
        return response

    async def sync(self, assignments: list[tuple[str, bytes]] | None = None) -> Any:
        return await self.conn.send(
            SyncGroupRequest(self.group, self.generation, self.member_id, None, assignments or [])
        )

    async def heartbeat(self, generation: int | None = None) -> int:
        gen = self.generation if generation is None else generation
        response = await self.conn.send(HeartbeatRequest(self.group, gen, self.member_id))
        return int(response.error_code)

    async def commit(self, partition: int, offset: int, *, generation: int | None = None) -> int:
        gen = self.generation if generation is None else generation
        request = OffsetCommitRequest(
            self.group, gen, self.member_id, -1, [(self.topic, [(partition, offset, "")])]
        )
        response = await self.conn.send(request)
        return int(response.topics[0][1][0][1])

    async def leave(self) -> int:
        response = await self.conn.send(LeaveGroupRequest(self.group, self.member_id))
        return int(response.error_code)


def assignment_bytes(topic: str, partitions: list[int]) -> bytes:
    return bytes(MemberAssignment(0, [(topic, partitions)], b"").encode())


def record_batch(
    producer_id: int, epoch: int, sequence: int, values: list[bytes], *, compression: int = 0
) -> bytes:
    builder = DefaultRecordBatchBuilder(2, compression, 0, producer_id, epoch, sequence, 1 << 20)
    for offset, value in enumerate(values):
        builder.append(offset, timestamp=None, key=None, value=value, headers=[])
    return bytes(builder.build())


async def produce_raw(conn: Any, topic: str, partition: int, batch: bytes) -> tuple[int, int]:
    """(error code, base offset) of a single-batch acks=all Produce request."""
    response = await conn.send(ProduceRequest(None, -1, 5000, [(topic, [(partition, batch)])]))
    _partition, error, offset, *_ = response.topics[0][1][0]
    return int(error), int(offset)


# -- fixtures --------------------------------------------------------------------------


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


@pytest.fixture
async def broker() -> AsyncIterator[KafkaTestBroker]:
    """A running broker; the test fails if the broker itself logged an error."""
    errors = _ErrorRecords()
    broker_logger = logging.getLogger("tests.kafka_broker")
    broker_logger.addHandler(errors)
    try:
        async with KafkaTestBroker() as running:
            yield running
    finally:
        broker_logger.removeHandler(errors)
    assert not errors.messages, "the test broker logged errors:\n" + "\n".join(errors.messages)


# -- produce and consume ---------------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "lz4", "gzip"])
async def test_idempotent_produce_then_consume_from_several_partitions(
    broker: KafkaTestBroker, compression: str | None
) -> None:
    broker.create_topic("events", 3)
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap,
        enable_idempotence=True,
        compression_type=compression,
        linger_ms=5,
    )
    consumer = AIOKafkaConsumer(
        "events", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
    )
    async with started(producer, consumer):
        futures = [
            await producer.send(
                "events",
                value=f"value-{i}".encode(),
                key=f"key-{i}".encode(),
                partition=i % 3,
                headers=[("trace", f"t{i}".encode()), ("empty", b"")],
            )
            for i in range(30)
        ]
        metadata = await asyncio.gather(*futures)
        received = await consume(consumer, 30)

    assert sorted((m.partition, m.offset) for m in metadata) == [
        (p, o) for p in range(3) for o in range(10)
    ]
    for record in received:
        i = int(record.key.decode().split("-")[1])
        assert record.partition == i % 3
        assert record.value == f"value-{i}".encode()
        assert list(record.headers) == [("trace", f"t{i}".encode()), ("empty", b"")]
    for partition in range(3):
        stored = broker.records("events", partition)
        assert [r.offset for r in stored] == list(range(10))
        assert sorted(r.offset for r in received if r.partition == partition) == list(range(10))
        for r in stored:
            i = int((r.key or b"").decode().split("-")[1])
            assert (r.value, r.headers) == (
                f"value-{i}".encode(),
                (("trace", f"t{i}".encode()), ("empty", b"")),
            )
    counts = broker.request_counts()
    assert counts["InitProducerId"] == 1
    assert counts["Produce"] >= 1


async def test_acks_zero_and_one_are_stored(broker: KafkaTestBroker) -> None:
    fire_and_forget = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=0)
    leader_ack = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=1)
    async with started(fire_and_forget, leader_ack):
        await fire_and_forget.send_and_wait("acks", b"zero")
        meta = await leader_ack.send_and_wait("acks", b"one")
        await eventually(lambda: len(broker.records("acks")) == 2, what="both records stored")
    assert meta.offset in (0, 1)
    assert sorted(r.value or b"" for r in broker.records("acks")) == [b"one", b"zero"]


async def test_wire_level_duplicate_batch_is_stored_once(broker: KafkaTestBroker) -> None:
    broker.create_topic("dedup", 1)
    async with raw_connection(broker) as conn:
        init = await conn.send(InitProducerIdRequest(None, 60000))
        assert init.error_code == ErrorCode.NONE
        pid, epoch = init.producer_id, init.producer_epoch

        first = record_batch(pid, epoch, 0, [b"a", b"b"])
        assert await produce_raw(conn, "dedup", 0, first) == (ErrorCode.NONE, 0)
        # The very same request again (a retry after a lost response): acknowledged
        # with the original offset and not stored twice.
        assert await produce_raw(conn, "dedup", 0, first) == (ErrorCode.NONE, 0)

        second = record_batch(pid, epoch, 2, [b"c"], compression=3)  # lz4
        assert await produce_raw(conn, "dedup", 0, second) == (ErrorCode.NONE, 2)
        assert await produce_raw(conn, "dedup", 0, first) == (ErrorCode.NONE, 0)

        gap = record_batch(pid, epoch, 7, [b"x"])
        error, _ = await produce_raw(conn, "dedup", 0, gap)
        assert error == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER

        stale_epoch = record_batch(pid, epoch - 1, 3, [b"x"])
        error, _ = await produce_raw(conn, "dedup", 0, stale_epoch)
        assert error == ErrorCode.INVALID_PRODUCER_EPOCH

        corrupt = bytearray(record_batch(pid, epoch, 3, [b"y"]))
        corrupt[-1] ^= 0xFF
        error, _ = await produce_raw(conn, "dedup", 0, bytes(corrupt))
        assert error == ErrorCode.CORRUPT_MESSAGE

        error, _ = await produce_raw(conn, "no-such-topic", 0, record_batch(-1, -1, -1, [b"z"]))
        assert error == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION

    assert [(r.offset, r.value) for r in broker.records("dedup")] == [
        (0, b"a"),
        (1, b"b"),
        (2, b"c"),
    ]
    assert broker.high_watermark("dedup", 0) == 3


# -- fetch and list offsets ------------------------------------------------------------


async def test_fetch_long_polls_until_data_arrives(broker: KafkaTestBroker) -> None:
    broker.create_topic("poll", 1)

    def fetch(offset: int, max_wait_ms: int) -> Any:
        return FetchRequest(max_wait_ms, 1, 1 << 20, 0, [("poll", [(0, offset, 1 << 20)])])

    async with raw_connection(broker) as fetcher, raw_connection(broker) as writer:
        started_at = time.monotonic()
        empty = await fetcher.send(fetch(0, 300))
        assert time.monotonic() - started_at >= 0.29
        assert empty.topics[0][1][0][1] == ErrorCode.NONE
        assert empty.topics[0][1][0][-1] == b""

        pending = asyncio.ensure_future(fetcher.send(fetch(0, 10000)))
        await asyncio.sleep(0.2)
        assert not pending.done()
        started_at = time.monotonic()
        assert await produce_raw(writer, "poll", 0, record_batch(-1, -1, -1, [b"hello"])) == (
            ErrorCode.NONE,
            0,
        )
        response = await asyncio.wait_for(pending, 5)
        assert time.monotonic() - started_at < 5
        _partition, error, high_watermark, last_stable, *_rest, records = response.topics[0][1][0]
        assert (error, high_watermark, last_stable) == (ErrorCode.NONE, 1, 1)
        assert b"hello" in records

        beyond = await fetcher.send(fetch(5, 10000))
        assert beyond.topics[0][1][0][1] == ErrorCode.OFFSET_OUT_OF_RANGE


async def test_list_offsets_earliest_latest_and_by_timestamp(broker: KafkaTestBroker) -> None:
    broker.create_topic("offsets", 1)
    tp = TopicPartition("offsets", 0)
    base_ts = 1_700_000_000_000
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    async with started(producer, consumer):
        for i in range(5):
            await producer.send_and_wait("offsets", b"v", partition=0, timestamp_ms=base_ts + i)
        assert await consumer.beginning_offsets([tp]) == {tp: 0}
        assert await consumer.end_offsets([tp]) == {tp: 5}
        found = await consumer.offsets_for_times({tp: base_ts + 3})
        assert found[tp] is not None
        assert (found[tp].offset, found[tp].timestamp) == (3, base_ts + 3)
        assert (await consumer.offsets_for_times({tp: base_ts + 99}))[tp] is None


# -- topics ----------------------------------------------------------------------------


async def test_create_topics_and_metadata_auto_creation(broker: KafkaTestBroker) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        created = await admin.create_topics([NewTopic("orders", 3, 1)])
        assert [tuple(t[:2]) for t in created.topic_errors] == [("orders", ErrorCode.NONE)]
        again = await admin.create_topics([NewTopic("orders", 3, 1)])
        assert again.topic_errors[0][1] == ErrorCode.TOPIC_ALREADY_EXISTS
        bad = await admin.create_topics([NewTopic("bad name!", 1, 1), NewTopic("rf3", 1, 3)])
        assert [t[1] for t in bad.topic_errors] == [
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            ErrorCode.INVALID_REPLICATION_FACTOR,
        ]
        assert "orders" in await admin.list_topics()
    finally:
        await admin.close()
    assert broker.topic_partitions("orders") == 3
    assert broker.topics() == ["orders"]

    async with raw_connection(broker) as conn:
        metadata = await conn.send(MetadataRequest(["auto-made"]))
    assert metadata.topics[0][0] == ErrorCode.NONE
    assert broker.topic_partitions("auto-made") == 1

    broker.create_topic("orders", 3)  # same partition count: a no-op
    with pytest.raises(ValueError, match="already exists"):
        broker.create_topic("orders", 5)


async def test_no_auto_creation_when_disabled() -> None:
    async with KafkaTestBroker(auto_create_topics=False, default_partitions=4) as broker:
        async with raw_connection(broker) as conn:
            metadata = await conn.send(MetadataRequest(["missing"]))
            assert metadata.topics[0][0] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            broker.create_topic("present", 2)
            metadata = await conn.send(MetadataRequest(None))
        assert [(t[1], len(t[3])) for t in metadata.topics] == [("present", 2)]
        with pytest.raises(KeyError):
            broker.topic_partitions("missing")


# -- consumer groups -------------------------------------------------------------------


async def test_group_splits_partitions_and_rebalances_when_a_member_joins_or_leaves(
    broker: KafkaTestBroker,
) -> None:
    broker.create_topic("split", 4)
    everything = {0, 1, 2, 3}

    def member(name: str) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            "split", bootstrap_servers=broker.bootstrap, group_id="g", client_id=name, **FAST_GROUP
        )

    first, second, third = member("first"), member("second"), member("third")
    async with started(first, second):
        await eventually(
            lambda: (
                split_evenly([first, second], everything)
                and broker.group_state("g") == "Stable"
                and len(broker.group_members("g")) == 2
            ),
            what="two consumers sharing four partitions",
        )
        assert sorted(map(len, (partitions_of(first), partitions_of(second)))) == [2, 2]
        two_member_generation = broker.group_generation("g")
        assert broker.group_leader("g") in broker.group_members("g")

        async with started(third):
            await eventually(
                lambda: (
                    split_evenly([first, second, third], everything)
                    and len(broker.group_members("g")) == 3
                    and broker.group_state("g") == "Stable"
                ),
                what="the third consumer to get its share",
            )
            assert broker.group_generation("g") > two_member_generation
            assignments = broker.group_assignments("g")
            assert sorted(p for pairs in assignments.values() for _, p in pairs) == [0, 1, 2, 3]
            three_member_generation = broker.group_generation("g")

        # third.stop() sent LeaveGroup: the survivors take its partitions back.
        await eventually(
            lambda: (
                split_evenly([first, second], everything)
                and len(broker.group_members("g")) == 2
                and broker.group_generation("g") > three_member_generation
            ),
            what="the survivors to take over after the third consumer left",
        )
    assert broker.group_members("g") == []
    assert broker.group_state("g") == "Empty"


async def test_silent_member_is_evicted_after_its_session_timeout(
    broker: KafkaTestBroker,
) -> None:
    broker.create_topic("evict", 4)
    everything = {0, 1, 2, 3}
    survivors = [
        AIOKafkaConsumer("evict", bootstrap_servers=broker.bootstrap, group_id="ge", **FAST_GROUP)
        for _ in range(2)
    ]
    async with started(*survivors), raw_connection(broker) as conn:
        await eventually(
            lambda: split_evenly(survivors, everything) and broker.group_state("ge") == "Stable",
            what="two consumers sharing four partitions",
        )
        silent = RawMember(conn, "ge", "evict", session_timeout_ms=1000)
        joined = await silent.join()  # completes once both consumers have rejoined
        assert joined.error_code == ErrorCode.NONE
        assert silent.saw_member_id_required
        synced = await silent.sync()
        assert synced.error_code == ErrorCode.NONE
        last_heard = time.monotonic()
        stolen = MemberAssignment.decode(synced.member_assignment).assignment
        assert stolen
        assert stolen[0][0] == "evict"
        assert stolen[0][1]
        assert silent.member_id in broker.group_members("ge")

        # The raw member now says nothing at all, like a SIGKILLed process.
        await eventually(
            lambda: silent.member_id not in broker.group_members("ge"),
            what="the silent member to be evicted",
        )
        assert time.monotonic() - last_heard >= 0.95
        await eventually(
            lambda: (
                split_evenly(survivors, everything)
                and broker.group_state("ge") == "Stable"
                and len(broker.group_members("ge")) == 2
            ),
            what="the survivors to take over the evicted member's partitions",
        )
        assert await silent.heartbeat() == ErrorCode.UNKNOWN_MEMBER_ID
        assert await silent.commit(0, 1) == ErrorCode.UNKNOWN_MEMBER_ID


async def test_join_and_sync_barriers_and_group_error_codes(broker: KafkaTestBroker) -> None:
    broker.create_topic("raw", 2)
    async with raw_connection(broker) as conn_a, raw_connection(broker) as conn_b:
        leader = RawMember(conn_a, "gr", "raw", session_timeout_ms=5000)
        follower = RawMember(conn_b, "gr", "raw", session_timeout_ms=5000)

        alone = await leader.join()
        assert leader.saw_member_id_required
        assert (alone.error_code, alone.generation_id, alone.leader_id) == (
            ErrorCode.NONE,
            1,
            leader.member_id,
        )
        assert [m[0] for m in alone.members] == [leader.member_id]
        assert (await leader.sync([(leader.member_id, b"all")])).member_assignment == b"all"
        assert await leader.heartbeat() == ErrorCode.NONE

        # A second member's JoinGroup starts a rebalance and waits at the join barrier.
        follower_join = asyncio.ensure_future(follower.join())
        await eventually(
            lambda: broker.group_state("gr") == "PreparingRebalance", what="a pending rebalance"
        )
        assert await leader.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS
        assert not follower_join.done()
        rejoined = await leader.join()
        followed = await asyncio.wait_for(follower_join, 5)
        assert rejoined.generation_id == followed.generation_id == 2
        assert rejoined.leader_id == followed.leader_id == leader.member_id
        assert sorted(m[0] for m in rejoined.members) == sorted(
            [leader.member_id, follower.member_id]
        )
        assert followed.members == []

        # The follower's SyncGroup waits until the leader delivers the assignments.
        follower_sync = asyncio.ensure_future(follower.sync())
        await asyncio.sleep(0.2)
        assert not follower_sync.done()
        leader_assignment = assignment_bytes("raw", [0])
        follower_assignment = assignment_bytes("raw", [1])
        led = await leader.sync(
            [(leader.member_id, leader_assignment), (follower.member_id, follower_assignment)]
        )
        assert led.member_assignment == leader_assignment
        assert (await asyncio.wait_for(follower_sync, 5)).member_assignment == follower_assignment
        assert broker.group_assignments("gr") == {
            leader.member_id: [("raw", 0)],
            follower.member_id: [("raw", 1)],
        }

        assert await follower.heartbeat(generation=1) == ErrorCode.ILLEGAL_GENERATION
        assert await follower.heartbeat() == ErrorCode.NONE

        # Offset commits are fenced by generation and membership.
        assert await follower.commit(1, 42, generation=1) == ErrorCode.ILLEGAL_GENERATION
        assert await follower.commit(1, 42) == ErrorCode.NONE
        assert broker.committed_offset("gr", "raw", 1) == 42
        fetched = await conn_a.send(OffsetFetchRequest("gr", [("raw", [0, 1])]))
        assert sorted((p, o) for p, o, _meta, _err in fetched.topics[0][1]) == [(0, -1), (1, 42)]

        stranger = RawMember(conn_a, "gr", "raw", session_timeout_ms=5000)
        stranger.member_id, stranger.generation = "nobody", 2
        assert await stranger.heartbeat() == ErrorCode.UNKNOWN_MEMBER_ID
        assert await stranger.commit(0, 1) == ErrorCode.UNKNOWN_MEMBER_ID

        assert await follower.leave() == ErrorCode.NONE
        assert await leader.heartbeat() == ErrorCode.REBALANCE_IN_PROGRESS
        assert (await leader.join()).generation_id == 3
        assert broker.group_members("gr") == [leader.member_id]


async def test_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout(
    broker: KafkaTestBroker,
) -> None:
    broker.create_topic("laggard", 1)
    async with raw_connection(broker) as conn_a, raw_connection(broker) as conn_b:
        laggard = RawMember(
            conn_a, "gl", "laggard", session_timeout_ms=10000, rebalance_timeout_ms=800
        )
        newcomer = RawMember(
            conn_b, "gl", "laggard", session_timeout_ms=10000, rebalance_timeout_ms=800
        )
        await laggard.join()
        await laggard.sync([(laggard.member_id, b"")])
        started_at = time.monotonic()
        newcomer_join = asyncio.ensure_future(newcomer.join())
        await eventually(
            lambda: broker.group_state("gl") == "PreparingRebalance", what="a pending rebalance"
        )
        # Heartbeats keep its session alive, but it never re-joins: the barrier
        # gives up on it after the rebalance timeout and completes without it.
        while not newcomer_join.done():
            assert await laggard.heartbeat() in (
                ErrorCode.REBALANCE_IN_PROGRESS,
                ErrorCode.UNKNOWN_MEMBER_ID,
            )
            await asyncio.sleep(0.05)
        joined = newcomer_join.result()
        assert time.monotonic() - started_at >= 0.75
        assert (joined.generation_id, joined.leader_id) == (2, newcomer.member_id)
        assert [m[0] for m in joined.members] == [newcomer.member_id]
        assert broker.group_members("gl") == [newcomer.member_id]
        assert await laggard.heartbeat() == ErrorCode.UNKNOWN_MEMBER_ID


async def test_offset_commit_fetch_roundtrip_with_aiokafka(broker: KafkaTestBroker) -> None:
    broker.create_topic("commits", 1)
    tp = TopicPartition("commits", 0)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    first = AIOKafkaConsumer(
        "commits", bootstrap_servers=broker.bootstrap, group_id="gc", **FAST_GROUP
    )
    async with started(producer):
        for i in range(10):
            await producer.send_and_wait("commits", str(i).encode(), partition=0)
        async with started(first):
            assert [r.offset for r in await consume(first, 10)] == list(range(10))
            await first.commit({tp: 7})
            assert await first.committed(tp) == 7
        assert broker.committed_offset("gc", "commits", 0) == 7

        second = AIOKafkaConsumer(
            "commits", bootstrap_servers=broker.bootstrap, group_id="gc", **FAST_GROUP
        )
        async with started(second):
            resumed = await consume(second, 3)
    assert [r.value for r in resumed] == [b"7", b"8", b"9"]
    assert broker.committed_offset("gc", "commits", 1) is None
    assert broker.committed_offset("unknown-group", "commits", 0) is None


# -- faults ----------------------------------------------------------------------------


@pytest.mark.allow_error_logs  # aiokafka logs ERROR for every refused connect
async def test_refused_connections_time_out_then_recover_on_the_same_port(
    broker: KafkaTestBroker,
) -> None:
    port = broker.port
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, retry_backoff_ms=50)
    async with started(producer):
        await producer.send_and_wait("faults", b"before")
        broker.refuse_connections(True)
        assert not broker.listening
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(producer.send_and_wait("faults", b"refused"), 2)

        broker.refuse_connections(False)
        assert broker.port == port
        await asyncio.wait_for(producer.send_and_wait("faults", b"after"), 20)
    values = {r.value for r in broker.records("faults")}
    assert {b"before", b"after"} <= values


@pytest.mark.allow_error_logs  # aiokafka logs ERROR when its connections break
async def test_dropped_connections_are_survived(broker: KafkaTestBroker) -> None:
    broker.create_topic("drops", 1)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, retry_backoff_ms=50)
    consumer = AIOKafkaConsumer(
        "drops", bootstrap_servers=broker.bootstrap, group_id="gd", **FAST_GROUP
    )
    async with started(producer, consumer):
        await producer.send_and_wait("drops", b"one")
        assert [r.value for r in await consume(consumer, 1)] == [b"one"]
        assert broker.connection_count() > 0
        accepted_before = broker.accepted_connections()
        broker.drop_connections()

        await asyncio.wait_for(producer.send_and_wait("drops", b"two"), 20)
        assert [r.value for r in await consume(consumer, 1)] == [b"two"]
        assert broker.accepted_connections() > accepted_before  # the clients reconnected


async def test_response_delay_delays_every_response(broker: KafkaTestBroker) -> None:
    async with raw_connection(broker) as conn:
        broker.set_response_delay(0.5)
        started_at = time.monotonic()
        await conn.send(MetadataRequest([]))
        assert time.monotonic() - started_at >= 0.45
        broker.set_response_delay(0)
        await asyncio.wait_for(conn.send(MetadataRequest([])), 5)
    with pytest.raises(ValueError, match="negative"):
        broker.set_response_delay(-1)


async def test_unknown_api_key_closes_the_connection(broker: KafkaTestBroker) -> None:
    def frame(api_key: int, version: int) -> bytes:
        client = b"raw"
        body = struct.pack(">hhih", api_key, version, 7, len(client)) + client
        return struct.pack(">i", len(body)) + body

    reader, writer = await asyncio.open_connection("127.0.0.1", broker.port)
    try:
        # ApiVersions at an unsupported version is answered (v0 format, error 35)...
        writer.write(frame(18, 9))
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        correlation_id, error = struct.unpack_from(">ih", await reader.readexactly(size))
        assert (correlation_id, error) == (7, ErrorCode.UNSUPPORTED_VERSION)
        # ...an unknown API key closes the connection.
        writer.write(frame(999, 0))
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert broker.request_counts()["ApiKey999"] == 1


# -- running it elsewhere ----------------------------------------------------------------


async def test_broker_thread_serves_clients_and_marshals_calls() -> None:
    with BrokerThread(default_partitions=2) as threaded:
        producer = AIOKafkaProducer(bootstrap_servers=threaded.bootstrap, retry_backoff_ms=50)
        async with started(producer):
            await producer.send_and_wait("threaded", b"v1", partition=1)
            # Called from this thread, executed on the broker's own loop.
            assert [r.value for r in threaded.records("threaded", 1)] == [b"v1"]
            assert threaded.topic_partitions("threaded") == 2
            threaded.drop_connections()
            await asyncio.wait_for(producer.send_and_wait("threaded", b"v2", partition=1), 20)
        assert [r.offset for r in threaded.records("threaded")] == [0, 1]


async def _start_cli(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.kafka_broker",
        *args,
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    assert line.startswith("LISTENING 127.0.0.1:"), line
    return process, line.removeprefix("LISTENING ")


async def _command(process: asyncio.subprocess.Process, command: str) -> str:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(f"{command}\n".encode())
    await process.stdin.drain()
    return (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()


async def _can_connect(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def test_cli_listens_obeys_commands_and_quits() -> None:
    process, bootstrap = await _start_cli("--port", "0", "--partitions", "2")
    try:
        port = int(bootstrap.rsplit(":", 1)[1])
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        async with started(producer):
            meta = await producer.send_and_wait("cli", b"hello")
        assert meta.offset == 0
        assert await _can_connect(port)
        assert await _command(process, "refuse") == "OK"
        assert not await _can_connect(port)
        assert await _command(process, "accept") == "OK"
        assert await _can_connect(port)
        assert await _command(process, "delay 0.01") == "OK"
        assert (await _command(process, "delay soon")).startswith("ERR ")
        assert await _command(process, "drop") == "OK"
        assert (await _command(process, "bogus")).startswith("ERR ")
        assert await _command(process, "quit") == "OK"
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
        assert process.returncode == 0, stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


@pytest.mark.parametrize("how", ["stdin-eof", "sigterm"])
async def test_cli_stops_cleanly_on_eof_or_sigterm(how: str) -> None:
    process, _ = await _start_cli()
    try:
        if how == "sigterm":
            process.terminate()
        else:
            assert process.stdin is not None
            process.stdin.close()
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
        assert process.returncode == 0, stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
