"""Aggregator errors."""

from __future__ import annotations

from shared.errors import JourneymapError


class PoisonFlood(JourneymapError):
    """Too much of the log is poison: the aggregator stops and needs a person."""

    retriable = False


class ConcurrentMapUpdate(JourneymapError):
    """Another transaction changed a row this batch read: retry the batch."""

    retriable = True
