"""Wire framing and the table of advertised APIs and versions.

Every request is ``int32 size`` + header (``int16 api_key, int16 api_version,
int32 correlation_id, nullable string client_id``) + body; every response is
``int32 size`` + ``int32 correlation_id`` + body. None of the versions listed
here is a "flexible" version, so there are no tagged fields anywhere.

Each API advertises exactly the version range implemented by its handler; the
aiokafka client then picks the highest version it knows inside that range.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from aiokafka.protocol.admin import (
    ApiVersionRequest_v0,
    ApiVersionRequest_v1,
    ApiVersionRequest_v2,
    CreateTopicsRequest_v3,
)
from aiokafka.protocol.commit import OffsetCommitRequest_v3, OffsetFetchRequest_v3
from aiokafka.protocol.coordination import FindCoordinatorRequest_v1
from aiokafka.protocol.fetch import FetchRequest_v11
from aiokafka.protocol.group import (
    HeartbeatRequest_v1,
    JoinGroupRequest_v5,
    LeaveGroupRequest_v1,
    SyncGroupRequest_v3,
)
from aiokafka.protocol.metadata import MetadataRequest_v5
from aiokafka.protocol.offset import OffsetRequest_v3
from aiokafka.protocol.produce import (
    ProduceRequest_v3,
    ProduceRequest_v4,
    ProduceRequest_v5,
    ProduceRequest_v6,
    ProduceRequest_v7,
)
from aiokafka.protocol.transaction import InitProducerIdRequest_v0


class ApiKey:
    PRODUCE = 0
    FETCH = 1
    LIST_OFFSETS = 2
    METADATA = 3
    OFFSET_COMMIT = 8
    OFFSET_FETCH = 9
    FIND_COORDINATOR = 10
    JOIN_GROUP = 11
    HEARTBEAT = 12
    LEAVE_GROUP = 13
    SYNC_GROUP = 14
    API_VERSIONS = 18
    CREATE_TOPICS = 19
    INIT_PRODUCER_ID = 22


@dataclass(frozen=True)
class ApiSpec:
    key: int
    name: str
    requests: dict[int, type[Any]]  # api version -> aiokafka request struct class

    @property
    def min_version(self) -> int:
        return min(self.requests)

    @property
    def max_version(self) -> int:
        return max(self.requests)


def _spec(key: int, name: str, *classes: type[Any]) -> ApiSpec:
    return ApiSpec(key, name, {int(cls.API_VERSION): cls for cls in classes})


API_SPECS: dict[int, ApiSpec] = {
    spec.key: spec
    for spec in (
        _spec(
            ApiKey.PRODUCE,
            "Produce",
            ProduceRequest_v3,
            ProduceRequest_v4,
            ProduceRequest_v5,
            ProduceRequest_v6,
            ProduceRequest_v7,
        ),
        _spec(ApiKey.FETCH, "Fetch", FetchRequest_v11),
        _spec(ApiKey.LIST_OFFSETS, "ListOffsets", OffsetRequest_v3),
        _spec(ApiKey.METADATA, "Metadata", MetadataRequest_v5),
        _spec(ApiKey.OFFSET_COMMIT, "OffsetCommit", OffsetCommitRequest_v3),
        _spec(ApiKey.OFFSET_FETCH, "OffsetFetch", OffsetFetchRequest_v3),
        _spec(ApiKey.FIND_COORDINATOR, "FindCoordinator", FindCoordinatorRequest_v1),
        _spec(ApiKey.JOIN_GROUP, "JoinGroup", JoinGroupRequest_v5),
        _spec(ApiKey.HEARTBEAT, "Heartbeat", HeartbeatRequest_v1),
        _spec(ApiKey.LEAVE_GROUP, "LeaveGroup", LeaveGroupRequest_v1),
        _spec(ApiKey.SYNC_GROUP, "SyncGroup", SyncGroupRequest_v3),
        _spec(
            ApiKey.API_VERSIONS,
            "ApiVersions",
            ApiVersionRequest_v0,
            ApiVersionRequest_v1,
            ApiVersionRequest_v2,
        ),
        _spec(ApiKey.CREATE_TOPICS, "CreateTopics", CreateTopicsRequest_v3),
        _spec(ApiKey.INIT_PRODUCER_ID, "InitProducerId", InitProducerIdRequest_v0),
    )
}

_HEADER_PREFIX = struct.Struct(">hhih")
_RESPONSE_PREFIX = struct.Struct(">ii")
SIZE_PREFIX = struct.Struct(">i")
MAX_FRAME_BYTES = 100 * 1024 * 1024


class ProtocolError(ValueError):
    """A frame that cannot be a request from a well-behaved client."""


@dataclass(frozen=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str
    body_offset: int


def parse_header(frame: bytes) -> RequestHeader:
    if len(frame) < _HEADER_PREFIX.size:
        raise ProtocolError(f"request frame of {len(frame)} bytes is too short")
    api_key, api_version, correlation_id, client_len = _HEADER_PREFIX.unpack_from(frame, 0)
    offset = _HEADER_PREFIX.size
    client_id = ""
    if client_len > 0:
        if offset + client_len > len(frame):
            raise ProtocolError("client id runs past the end of the frame")
        client_id = frame[offset : offset + client_len].decode("utf-8", errors="replace")
        offset += client_len
    return RequestHeader(api_key, api_version, correlation_id, client_id, offset)


def encode_response(correlation_id: int, response: Any) -> bytes:
    body: bytes = response.encode()
    return _RESPONSE_PREFIX.pack(len(body) + 4, correlation_id) + body


def api_name(api_key: int) -> str:
    spec = API_SPECS.get(api_key)
    return spec.name if spec is not None else f"ApiKey{api_key}"
