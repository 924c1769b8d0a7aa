"""State shared by the API handlers of one broker."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ErrorCode
from .groups import GroupCoordinator
from .producers import ProducerStateTable
from .topics import TopicRegistry

NODE_ID = 0
CLUSTER_ID = "kafka-test-broker"


@dataclass
class BrokerContext:
    topics: TopicRegistry
    producers: ProducerStateTable
    groups: GroupCoordinator
    auto_create_topics: bool
    default_partitions: int
    # Fault injection: every produce is refused with this error (None: none is).
    produce_error: ErrorCode | None = None
    advertised_host: str = "127.0.0.1"
    advertised_port: int = 0
