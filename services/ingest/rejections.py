"""The dead-letter store of ingest: every refused event, with its reason, kept.

It is best effort by design: the response has already told the client what was
refused, so a database hiccup here is logged and does not fail the request.

It is bounded: a payload is kept truncated, with secrets masked, and old rows go by
age and by count per key on every write (the key's rate limit bounds the writes).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import driver_connection

logger = logging.getLogger(__name__)

# A JSON member whose name says it holds a credential, e.g. "writeKey": "...".
SECRET_MEMBER = re.compile(
    rb'("(?:write_?key|authorization|api_?key|password|secret|token|access_?token)"\s*:\s*)'
    rb'"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)
MASK = rb'\1"***"'


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int | None  # None: the whole request
    event_id: str | None
    reason: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Retention:
    max_age: timedelta
    max_per_key: int
    payload_bytes: int


def kept_payload(payload: bytes, limit: int) -> bytes:
    """The payload with credentials masked (before truncation, so none is cut in half)."""
    return SECRET_MEMBER.sub(MASK, payload)[:limit]


class RejectionStore:
    def __init__(self, engine: AsyncEngine, retention: Retention) -> None:
        self._engine = engine
        self._retention = retention

    async def record(
        self, rejections: Sequence[Rejection], *, source: str, endpoint: str, at: datetime
    ) -> None:
        if not rejections:
            return
        kept = self._retention
        try:
            async with self._engine.begin() as sa_conn:
                conn = await driver_connection(sa_conn)
                await conn.executemany(
                    "INSERT INTO rejected_events (received_at, source, endpoint, item_index, "
                    "event_id, reason, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    [
                        (
                            at,
                            source,
                            endpoint,
                            r.index,
                            r.event_id,
                            r.reason,
                            kept_payload(r.payload, kept.payload_bytes),
                        )
                        for r in rejections
                    ],
                )
                await conn.execute(
                    "DELETE FROM rejected_events WHERE source = $1 AND id <= ("
                    "SELECT id FROM rejected_events WHERE source = $1 "
                    "ORDER BY id DESC OFFSET $2 LIMIT 1)",
                    source,
                    kept.max_per_key,
                )
                await conn.execute(
                    "DELETE FROM rejected_events WHERE received_at < $1", at - kept.max_age
                )
        except Exception as error:  # the client was told already; keep serving
            logger.warning("could not keep %d refused events: %r", len(rejections), error)
