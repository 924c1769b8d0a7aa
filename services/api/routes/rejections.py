"""GET /v1/rejections: what ingest refused, and why (its dead-letter store)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.api import models
from services.api.context import ApiContext
from shared.db.engine import driver_connection
from shared.web.auth import Principal, require_scope
from shared.web.cursor import cursor_int, decode_cursor, encode_cursor


def rejections_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["ingest"])
    reader = Annotated[Principal, Depends(require_scope(ctx.keys, "read"))]

    @router.get(
        "/rejections",
        response_model=models.RejectedEventPage,
        summary="Refused events and requests, newest first",
    )
    async def list_rejections(
        _: reader,
        source: Annotated[str | None, Query(max_length=200, description="key name")] = None,
        cursor: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> models.RejectedEventPage:
        before = decode_cursor(cursor, cursor_int)[0] if cursor else None
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            rows = await conn.fetch(
                "SELECT id, received_at, source, endpoint, item_index, event_id, reason, "
                "payload FROM rejected_events WHERE ($1::text IS NULL OR source = $1) "
                "AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
                source,
                before,
                limit + 1,
            )
        page = rows[:limit]
        return models.RejectedEventPage(
            rejected=[
                models.RejectedEventView(
                    id=row["id"],
                    received_at=row["received_at"],
                    source=row["source"],
                    endpoint=row["endpoint"],
                    index=row["item_index"],
                    event_id=row["event_id"],
                    reason=row["reason"],
                    payload=bytes(row["payload"]).decode("utf-8", errors="replace"),
                )
                for row in page
            ],
            next_cursor=encode_cursor(page[-1]["id"]) if len(rows) > limit else None,
        )

    return router
