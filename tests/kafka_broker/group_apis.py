"""JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.protocol.commit import OffsetCommitResponse_v3, OffsetFetchResponse_v3
from aiokafka.protocol.group import (
    HeartbeatResponse_v1,
    JoinGroupResponse_v5,
    LeaveGroupResponse_v1,
    SyncGroupResponse_v3,
)

from .context import BrokerContext
from .errors import ErrorCode
from .protocol import RequestHeader


async def handle_join_group(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    # group_instance_id (static membership, KIP-345) is accepted but ignored: every
    # member is treated as a dynamic member.
    waiter = ctx.groups.join(
        group_id=request.group or "",
        member_id=request.member_id or "",
        client_id=header.client_id,
        session_timeout_ms=request.session_timeout,
        rebalance_timeout_ms=request.rebalance_timeout,
        protocol_type=request.protocol_type or "",
        protocols=[(name, data or b"") for name, data in request.group_protocols or []],
    )
    # Shielded: if this connection is dropped mid-barrier the member still counts
    # as joined (as in Kafka) and the group resolves the future later.
    result = await asyncio.shield(waiter)
    return JoinGroupResponse_v5(
        throttle_time_ms=0,
        error_code=result.error,
        generation_id=result.generation_id,
        group_protocol=result.protocol,
        leader_id=result.leader_id,
        member_id=result.member_id,
        members=[(member_id, None, metadata) for member_id, metadata in result.members],
    )


async def handle_sync_group(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    waiter = ctx.groups.sync(
        group_id=request.group or "",
        generation=request.generation_id,
        member_id=request.member_id or "",
        assignments=list(request.group_assignment or []),
    )
    result = await asyncio.shield(waiter)
    return SyncGroupResponse_v3(
        throttle_time_ms=0, error_code=result.error, member_assignment=result.assignment
    )


async def handle_heartbeat(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    error = ctx.groups.heartbeat(
        request.group or "", request.generation_id, request.member_id or ""
    )
    return HeartbeatResponse_v1(throttle_time_ms=0, error_code=error)


async def handle_leave_group(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    error = ctx.groups.leave(request.group or "", request.member_id or "")
    return LeaveGroupResponse_v1(throttle_time_ms=0, error_code=error)


async def handle_offset_commit(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    offsets = [
        (topic, partition, offset, metadata)
        for topic, partitions in request.topics or []
        for partition, offset, metadata in partitions
    ]
    results = ctx.groups.commit(
        request.consumer_group or "",
        request.consumer_group_generation_id,
        request.consumer_id or "",
        offsets,
    )
    by_topic: dict[str, list[tuple[int, ErrorCode]]] = {}
    for topic, partition, error in results:
        by_topic.setdefault(topic, []).append((partition, error))
    return OffsetCommitResponse_v3(throttle_time_ms=0, topics=list(by_topic.items()))


async def handle_offset_fetch(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    wanted = None
    if request.topics is not None:
        wanted = [(topic, p) for topic, partitions in request.topics for p in partitions]
    by_topic: dict[str, list[tuple[Any, ...]]] = {}
    for topic, partition, stored in ctx.groups.fetch_offsets(request.consumer_group or "", wanted):
        offset, metadata = (stored.offset, stored.metadata) if stored is not None else (-1, "")
        by_topic.setdefault(topic, []).append((partition, offset, metadata, ErrorCode.NONE))
    return OffsetFetchResponse_v3(
        throttle_time_ms=0, topics=list(by_topic.items()), error_code=ErrorCode.NONE
    )
