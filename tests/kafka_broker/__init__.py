"""A single-node Kafka-protocol broker for tests, driven by the real aiokafka client.

Implements just enough of the Kafka wire protocol (on aiokafka's own protocol
structs) for producers, consumers and consumer groups: ApiVersions, Metadata,
CreateTopics, Produce (idempotent), Fetch (long-poll), ListOffsets,
FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
OffsetFetch and InitProducerId. Test code only.
"""

from .errors import ErrorCode
from .log import StoredRecord
from .server import KafkaTestBroker
from .thread import BrokerThread

__all__ = ["BrokerThread", "ErrorCode", "KafkaTestBroker", "StoredRecord"]
