"""One answer to "is this failure worth retrying?" across our errors, PostgreSQL and Kafka."""

from __future__ import annotations

from shared.db.errors import is_transient_db_error
from shared.errors import JourneymapError
from shared.log.kafka_errors import is_retriable_kafka_error


def is_transient(error: BaseException) -> bool:
    if isinstance(error, JourneymapError):
        return error.retriable
    return is_transient_db_error(error) or is_retriable_kafka_error(error)
