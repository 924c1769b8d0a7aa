"""Routes a decoded request to its handler."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

from . import cluster_apis, data_apis, group_apis
from .context import BrokerContext
from .errors import ErrorCode
from .protocol import API_SPECS, ApiKey, ProtocolError, RequestHeader

Handler = Callable[[BrokerContext, RequestHeader, Any], Awaitable[Any | None]]

HANDLERS: dict[int, Handler] = {
    ApiKey.PRODUCE: data_apis.handle_produce,
    ApiKey.FETCH: data_apis.handle_fetch,
    ApiKey.LIST_OFFSETS: data_apis.handle_list_offsets,
    ApiKey.METADATA: cluster_apis.handle_metadata,
    ApiKey.OFFSET_COMMIT: group_apis.handle_offset_commit,
    ApiKey.OFFSET_FETCH: group_apis.handle_offset_fetch,
    ApiKey.FIND_COORDINATOR: cluster_apis.handle_find_coordinator,
    ApiKey.JOIN_GROUP: group_apis.handle_join_group,
    ApiKey.HEARTBEAT: group_apis.handle_heartbeat,
    ApiKey.LEAVE_GROUP: group_apis.handle_leave_group,
    ApiKey.SYNC_GROUP: group_apis.handle_sync_group,
    ApiKey.API_VERSIONS: cluster_apis.handle_api_versions,
    ApiKey.CREATE_TOPICS: cluster_apis.handle_create_topics,
    ApiKey.INIT_PRODUCER_ID: cluster_apis.handle_init_producer_id,
}
assert set(HANDLERS) == set(API_SPECS), "every advertised API needs a handler"


async def dispatch(ctx: BrokerContext, header: RequestHeader, frame: bytes) -> Any | None:
    """Decode and handle one request; the response struct, or None for no response.

    Raises ProtocolError for an unknown API key or an unsupported version (the
    caller closes the connection), except ApiVersions, which Kafka answers with
    UNSUPPORTED_VERSION in its v0 format so the client can downgrade.
    """
    spec = API_SPECS.get(header.api_key)
    if spec is None:
        raise ProtocolError(f"unknown api key {header.api_key}")
    request_class = spec.requests.get(header.api_version)
    if request_class is None:
        if header.api_key == ApiKey.API_VERSIONS:
            return cluster_apis.api_versions_response(0, ErrorCode.UNSUPPORTED_VERSION)
        raise ProtocolError(
            f"{spec.name} v{header.api_version} is not supported "
            f"(advertised v{spec.min_version}-v{spec.max_version})"
        )
    buffer = io.BytesIO(frame)
    buffer.seek(header.body_offset)
    try:
        request = request_class.decode(buffer)
    except Exception as exc:  # aiokafka raises ValueError/struct.error on garbage
        raise ProtocolError(f"cannot decode {spec.name} v{header.api_version}: {exc}") from exc
    return await HANDLERS[header.api_key](ctx, header, request)
