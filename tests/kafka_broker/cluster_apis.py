"""ApiVersions, Metadata, CreateTopics, FindCoordinator and InitProducerId."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.protocol.admin import (
    ApiVersionResponse_v0,
    ApiVersionResponse_v1,
    ApiVersionResponse_v2,
    CreateTopicsResponse_v3,
)
from aiokafka.protocol.coordination import FindCoordinatorResponse_v1
from aiokafka.protocol.metadata import MetadataResponse_v5
from aiokafka.protocol.transaction import InitProducerIdResponse_v0

from .context import CLUSTER_ID, NODE_ID, BrokerContext
from .errors import ErrorCode
from .protocol import API_SPECS, RequestHeader
from .topics import invalid_topic_reason

log = logging.getLogger(__name__)


def api_versions_response(version: int, error: ErrorCode = ErrorCode.NONE) -> Any:
    versions = [(s.key, s.min_version, s.max_version) for s in API_SPECS.values()]
    if version == 1:
        return ApiVersionResponse_v1(error_code=error, api_versions=versions, throttle_time_ms=0)
    if version == 2:
        return ApiVersionResponse_v2(error_code=error, api_versions=versions, throttle_time_ms=0)
    return ApiVersionResponse_v0(error_code=error, api_versions=versions)


async def handle_api_versions(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    return api_versions_response(header.api_version)


async def handle_metadata(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    names: list[str] = ctx.topics.names() if request.topics is None else list(request.topics)
    allow_auto = bool(request.allow_auto_topic_creation) and ctx.auto_create_topics
    topics: list[tuple[Any, ...]] = []
    for name in names:
        reason = invalid_topic_reason(name)
        if name not in ctx.topics and allow_auto and reason is None:
            ctx.topics.create(name, ctx.default_partitions)
            log.info("auto-created topic %s with %d partition(s)", name, ctx.default_partitions)
        logs = ctx.topics.partitions(name)
        if logs is None:
            error = (
                ErrorCode.INVALID_TOPIC_EXCEPTION
                if reason
                else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            )
            topics.append((error, name, False, []))
            continue
        partitions: list[tuple[Any, ...]] = [
            (0, p.partition, NODE_ID, [NODE_ID], [NODE_ID], []) for p in logs
        ]
        topics.append((ErrorCode.NONE, name, False, partitions))
    return MetadataResponse_v5(
        throttle_time_ms=0,
        brokers=[(NODE_ID, ctx.advertised_host, ctx.advertised_port, None)],
        cluster_id=CLUSTER_ID,
        controller_id=NODE_ID,
        topics=topics,
    )


def _create_one(
    ctx: BrokerContext,
    name: str,
    num_partitions: int,
    replication_factor: int,
    assignment: list[Any] | None,
    validate_only: bool,
) -> tuple[ErrorCode, str | None]:
    count = len(assignment) if assignment else num_partitions
    if count == -1:
        count = ctx.default_partitions
    reason = invalid_topic_reason(name)
    if reason is not None:
        return ErrorCode.INVALID_TOPIC_EXCEPTION, reason
    if name in ctx.topics:
        return ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists."
    if count < 1:
        return ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0."
    if not assignment and replication_factor not in (-1, 1):
        return (
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"Replication factor: {replication_factor} larger than available brokers: 1.",
        )
    if not validate_only:
        ctx.topics.create(name, count)
        log.info("created topic %s with %d partition(s)", name, count)
    return ErrorCode.NONE, None


async def handle_create_topics(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    results = []
    for name, num_partitions, replication_factor, assignment, _configs in (
        request.create_topic_requests or []
    ):
        error, message = _create_one(
            ctx, name, num_partitions, replication_factor, assignment, bool(request.validate_only)
        )
        results.append((name, error, message))
    return CreateTopicsResponse_v3(throttle_time_ms=0, topic_errors=results)


async def handle_find_coordinator(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    return FindCoordinatorResponse_v1(
        throttle_time_ms=0,
        error_code=ErrorCode.NONE,
        error_message=None,
        coordinator_id=NODE_ID,
        host=ctx.advertised_host,
        port=ctx.advertised_port,
    )


async def handle_init_producer_id(ctx: BrokerContext, header: RequestHeader, request: Any) -> Any:
    if request.transactional_id is not None:
        log.warning(
            "InitProducerId for transactional id %r refused: transactions are not supported",
            request.transactional_id,
        )
        return InitProducerIdResponse_v0(
            throttle_time_ms=0,
            error_code=ErrorCode.UNSUPPORTED_VERSION,
            producer_id=-1,
            producer_epoch=-1,
        )
    producer_id, epoch = ctx.producers.allocate()
    return InitProducerIdResponse_v0(
        throttle_time_ms=0, error_code=ErrorCode.NONE, producer_id=producer_id, producer_epoch=epoch
    )
