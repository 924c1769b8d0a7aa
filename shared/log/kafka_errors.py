"""Which Kafka client failures are worth retrying.

aiokafka marks most broker errors with `retriable`; timeouts and connection loss are
transient too. Everything else (authorisation, a record too large, an unknown
topic that will not be created) needs a person.
"""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from shared.errors import JourneymapError


class KafkaStartError(JourneymapError):
    """A Kafka client could not start; the message names the settings to look at."""

    retriable = False


def is_retriable_kafka_error(error: BaseException) -> bool:
    if isinstance(error, KafkaTimeoutError | KafkaConnectionError | TimeoutError | OSError):
        return True
    if isinstance(error, KafkaError):
        return bool(error.retriable)
    return False
