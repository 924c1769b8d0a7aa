"""The base of every journeymap exception.

Each error says whether retrying can help (`retriable`), so callers decide between
backing off and giving up without knowing every concrete class.
"""

from __future__ import annotations


class JourneymapError(Exception):
    retriable: bool = False
