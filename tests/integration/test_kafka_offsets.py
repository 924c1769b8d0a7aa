"""A log that restarts empty under the stored offsets: the partition stops, readiness
says why, nothing acknowledged is skipped, and `journeymap offsets reset` goes on.

Over the wire with the real aiokafka client against the project's test broker, which
is restarted empty on the same port (as a broker that lost its data, or a cluster
rebuilt under the same address).
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.log.kafka_connection import KafkaConnection
from shared.log.kafka_topics import ensure_topics
from shared.schemas.log_event import LogEvent
from tests.kafka_broker import KafkaTestBroker
from tests.support.kafka_log import (
    AFTER,
    BEFORE,
    DLQ,
    TOPIC,
    entries_of,
    kafka_aggregator,
    offsets_command,
    refill,
    running,
    started_writer,
    stopped_reason,
    touchpoint_count,
    wait_for_touchpoints,
)
from tests.support.polling import eventually
from tests.support.server import free_port


async def fresh_broker(port: int, partitions: int = 1) -> KafkaTestBroker:
    broker = KafkaTestBroker(port=port, auto_create_topics=False)
    await broker.start()
    await ensure_topics(
        KafkaConnection(broker.bootstrap), [TOPIC, DLQ], partitions=partitions, replication_factor=1
    )
    return broker


async def append(broker: KafkaTestBroker, events: list[LogEvent]) -> int:
    async with started_writer(broker, max_pending=5000) as writer:
        await writer.append(entries_of(events))
    return len(events)


@pytest.mark.allow_error_logs
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("after", "reason_says", "show_says"),
    [
        # The new log ends before the stored offset 11.
        (AFTER, "the log ends at 3", "0\t11\t0\t3\tSTOPPED: the maps hold offsets up to 11"),
        # New traffic passed offset 11 before an aggregator started: offsets alone
        # cannot tell this log from the old one, the digest stored with 11 can.
        (
            refill(len(BEFORE) + 5),
            "offset 11 is not the one the maps read",
            "0\t11\t0\t17\tSTOPPED: the record at offset 11",
        ),
    ],
    ids=["shorter", "refilled-past-the-stored-offset"],
)
async def test_a_log_restarted_empty_stops_the_partition_until_an_operator_resets_it(
    engine: AsyncEngine,
    clean_database: str,
    after: list[LogEvent],
    reason_says: str,
    show_says: str,
) -> None:
    port = free_port()
    broker = await fresh_broker(port)
    try:
        first = await append(broker, BEFORE)
        aggregator = kafka_aggregator(engine, KafkaConnection(broker.bootstrap))
        async with running(aggregator):
            await wait_for_touchpoints(engine, first)
    finally:
        await broker.stop()

    broker = await fresh_broker(port)  # the same address, an empty log
    try:
        later = await append(broker, after)
        aggregator = kafka_aggregator(engine, KafkaConnection(broker.bootstrap))
        async with running(aggregator):
            reason = await eventually(lambda: stopped_reason(aggregator), within=30)
            assert "partition 0 stopped" in reason
            assert reason_says in reason
            # Held, not skipped: nothing after the stored offset went into the maps.
            assert await touchpoint_count(engine) == first

            shown = await offsets_command(clean_database, broker.bootstrap, "show")
            assert show_says in shown.stdout
            reset = await offsets_command(
                clean_database, broker.bootstrap, "reset", "--partition", "0", "--to", "earliest"
            )
            assert "go on after offset -1" in reset.stdout

            await wait_for_touchpoints(engine, first + later)
            assert await stopped_reason(aggregator) is None
        assert await touchpoint_count(engine) == first + later
    finally:
        await broker.stop()


@pytest.mark.allow_error_logs  # aiokafka logs the refused connections
@pytest.mark.timeout(180)
async def test_a_log_that_cannot_be_asked_on_assignment_holds_the_partitions_until_it_can(
    engine: AsyncEngine,
) -> None:
    """A check that fails inside the rebalance listener must not leave its partitions
    unread and unnoticed: they wait, readiness says why, and they go on once the log
    answers."""
    broker = await fresh_broker(free_port(), partitions=2)
    try:
        first = await append(broker, BEFORE)
        assert all(broker.high_watermark(TOPIC, p) > 0 for p in (0, 1))
        connection = KafkaConnection(broker.bootstrap)
        staying = kafka_aggregator(engine, connection)
        async with running(staying):
            async with running(kafka_aggregator(engine, connection)):
                await wait_for_touchpoints(engine, first)

                async def split() -> bool | None:
                    owned = broker.group_assignments("g").values()
                    return sorted(len(partitions) for partitions in owned) == [1, 1] or None

                await eventually(split, within=60)
                # Open connections stay; the record check's own client cannot connect.
                broker.refuse_connections(keep_open=True)
            # The other member left: this one takes both partitions, cannot check them.
            reason = await eventually(lambda: stopped_reason(staying), within=60)
            assert "could not check the stored offset against the log" in reason
            assert await touchpoint_count(engine) == first

            broker.refuse_connections(False)

            async def going_on() -> bool | None:
                return await stopped_reason(staying) is None or None

            await eventually(going_on, within=60)
            later = await append(broker, AFTER)
            await wait_for_touchpoints(engine, first + later)
        assert await touchpoint_count(engine) == first + later
    finally:
        await broker.stop()
