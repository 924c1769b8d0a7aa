"""The dead-letter store of ingest: every refused event, with its reason, kept.

It is best effort by design: the response has already told the client what was
refused, so a database hiccup here is logged and does not fail the request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import driver_connection

logger = logging.getLogger(__name__)

KEPT_PAYLOAD_BYTES = 32 * 1024


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int | None  # None: the whole request
    event_id: str | None
    reason: str
    payload: bytes


class RejectionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self, rejections: Sequence[Rejection], *, source: str, endpoint: str, at: datetime
    ) -> None:
        if not rejections:
            return
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
                            r.payload[:KEPT_PAYLOAD_BYTES],
                        )
                        for r in rejections
                    ],
                )
        except Exception as error:  # the client was told already; keep serving
            logger.warning("could not keep %d refused events: %r", len(rejections), error)


def _text(value: str) -> str:
    """What was refused may hold NUL characters, which PostgreSQL text cannot."""
    return value.replace("\x00", "\\0")
