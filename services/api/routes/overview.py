"""What is happening now: totals, the latest touchpoints, and customer search.

The console's home polls these every few seconds; their ETags hash the answer, so a
poll that finds nothing new sends nothing back.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.api import dashboard_queries as figures
from services.api import models, presenters, queries
from services.api.context import ApiContext
from services.api.dashboard_models import MapLag, Overview
from shared.db.engine import driver_connection
from shared.domain.alerts import Severity
from shared.log.postgres import PARTITION, TOPIC
from shared.web.auth import Principal, require_scope
from shared.web.etag import tagged_by_content

RATE_WINDOW = timedelta(minutes=5)
UNKNOWN_LAG = (
    "the query API does not read Kafka: see journeymap_aggregator_consumer_lag "
    "on the aggregators' /metrics"
)


def overview_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["overview"])
    reader = Annotated[Principal, Depends(require_scope(ctx.keys, "read"))]
    settings = ctx.settings
    log_reader = (settings.consumer_group, TOPIC, PARTITION) if settings.log == "postgres" else None

    @router.get("/overview", response_model=Overview, summary="Live totals for the console")
    async def get_overview(request: Request, _: reader) -> Response:
        now = ctx.clock.now()
        async with ctx.engine.connect() as sa_conn:
            sums = await figures.overview(
                await driver_connection(sa_conn),
                received_since=now - RATE_WINDOW,
                active_since=datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC),
                log_reader=log_reader,
            )
        waited = None if sums.oldest_waiting is None else (now - sums.oldest_waiting)
        body = Overview(
            at=now,
            events_per_minute=sums.received_recently / (RATE_WINDOW.total_seconds() / 60),
            customers_active_today=sums.active_customers,
            open_alerts={s.value: sums.open_alerts.get(s.value, 0) for s in Severity},
            map_lag=MapLag(
                events=sums.behind,
                seconds=None if waited is None else max(0.0, waited.total_seconds()),
                note=None if log_reader else UNKNOWN_LAG,
            ),
        )
        return tagged_by_content(request, body.model_dump(mode="json"))

    @router.get(
        "/stream",
        response_model=models.LatestTouchpoints,
        summary="The latest touchpoints in the maps, newest first",
    )
    async def get_stream(
        request: Request, _: reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> Response:
        async with ctx.engine.connect() as sa_conn:
            found = await queries.latest_received(await driver_connection(sa_conn), limit)
        body = models.LatestTouchpoints(touchpoints=[presenters.received_entry(t) for t in found])
        return tagged_by_content(request, body.model_dump(mode="json"))

    @router.get(
        "/customers",
        response_model=models.CustomerList,
        summary="Customers whose id starts with `q`, latest seen first",
        tags=["customers"],
    )
    async def find_customers(
        _: reader,
        q: Annotated[str, Query(max_length=200, description="Start of the customer id")] = "",
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        type_: Annotated[
            str | None, Query(alias="type", max_length=200, description="Touched this type")
        ] = None,
        channel: Annotated[
            str | None, Query(max_length=200, description="Touched this channel")
        ] = None,
    ) -> models.CustomerList:
        async with ctx.engine.connect() as sa_conn:
            found = await queries.find_customers(
                await driver_connection(sa_conn),
                q,
                limit,
                touch_type=type_,
                touch_channel=channel,
            )
        return models.CustomerList(
            customers=[
                models.CustomerMatch(
                    customer_id=c.customer_id,
                    touchpoint_count=c.touchpoint_count,
                    last_seen=c.last_seen,
                )
                for c in found
            ]
        )

    return router
