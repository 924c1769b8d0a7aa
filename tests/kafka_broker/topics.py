"""Topic registry: names, partition counts and their logs."""

from __future__ import annotations

import re

from .log import PartitionLog

_LEGAL_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_MAX_NAME_LENGTH = 249


class TopicError(ValueError):
    """Raised by :meth:`TopicRegistry.create` for an invalid or conflicting topic."""


def invalid_topic_reason(name: str) -> str | None:
    """Why ``name`` is not a legal Kafka topic name, or None if it is."""
    if not name:
        return "topic name is empty"
    if name in (".", ".."):
        return "topic name cannot be '.' or '..'"
    if len(name) > _MAX_NAME_LENGTH:
        return f"topic name is longer than {_MAX_NAME_LENGTH} characters"
    if not _LEGAL_NAME.match(name):
        return "topic name may only contain ASCII alphanumerics, '.', '_' and '-'"
    return None


class TopicRegistry:
    def __init__(self) -> None:
        self._topics: dict[str, list[PartitionLog]] = {}

    def create(self, name: str, partitions: int) -> None:
        reason = invalid_topic_reason(name)
        if reason is not None:
            raise TopicError(reason)
        if partitions < 1:
            raise TopicError(f"partition count must be at least 1, got {partitions}")
        if name in self._topics:
            raise TopicError(f"topic {name!r} already exists")
        self._topics[name] = [PartitionLog(name, p) for p in range(partitions)]

    def __contains__(self, name: object) -> bool:
        return name in self._topics

    def names(self) -> list[str]:
        return sorted(self._topics)

    def partitions(self, name: str) -> list[PartitionLog] | None:
        return self._topics.get(name)

    def get(self, name: str, partition: int) -> PartitionLog | None:
        logs = self._topics.get(name)
        if logs is None or not 0 <= partition < len(logs):
            return None
        return logs[partition]

    def partition_exists(self, name: str, partition: int) -> bool:
        return self.get(name, partition) is not None
