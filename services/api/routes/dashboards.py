"""Figures across customers for dashboards: journey funnel, touchpoints, hotspots.

Every answer carries a strong ETag built from the change counters the aggregator
bumps in the same transaction as the figures, so a poll with If-None-Match costs one
primary-key read and answers 304 while nothing changed.
"""

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.api import dashboard_presenters as presenters
from services.api import dashboard_queries as queries
from services.api.context import ApiContext
from services.api.dashboard_models import (
    DroppedJourney,
    DroppedPage,
    Funnel,
    Hotspots,
    ProductJourneys,
    ProductList,
    StageFlow,
    StageModel,
    TouchpointPage,
)
from shared.db.engine import driver_connection
from shared.web.auth import Principal, require_scope
from shared.web.cursor import (
    cursor_int,
    cursor_text,
    cursor_time,
    decode_cursor,
    encode_cursor,
    keyset_page,
)
from shared.web.etag import etag_for, not_modified, tagged
from shared.web.problems import ApiProblem
from shared.web.timerange import check_range, day_bounds

Since = Annotated[
    datetime | None,
    Query(alias="from", description="ISO 8601 with a timezone, e.g. 2026-11-01T00:00:00Z"),
]
Until = Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
FirstChannel = Annotated[str | None, Query(min_length=1, description="First touchpoint's channel")]
ProductId = Annotated[str, Path(min_length=1, max_length=200)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def product_cohort(
    product_id: ProductId, since: Since = None, until: Until = None, channel: FirstChannel = None
) -> queries.Cohort:
    check_range(since, until)
    return queries.Cohort(product_id, since, until, channel)


ProductCohort = Annotated[queries.Cohort, Depends(product_cohort)]

UNCHANGED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified since the ETag sent in If-None-Match"},
}


def cohort_version(cohort: queries.Cohort) -> Callable[[asyncpg.Connection], Awaitable[str]]:
    return lambda conn: queries.product_version(conn, cohort.product_id)


def dashboards_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["dashboards"])
    reader = Annotated[Principal, Depends(require_scope(ctx.keys, "read"))]
    stage_model = ctx.settings.stage_model
    base_url = ctx.settings.base_url

    async def answer(
        request: Request,
        version: Callable[[asyncpg.Connection], Awaitable[str]],
        compute: Callable[[asyncpg.Connection], Awaitable[Any]],
    ) -> Response:
        """304 when the client has the current version; otherwise compute and tag."""
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            etag = etag_for(request, await version(conn))
            unchanged = not_modified(request, etag)
            if unchanged:
                return unchanged
            body = await compute(conn)
        return tagged(body.model_dump(mode="json", by_alias=True), etag)

    @router.get(
        "/products/{product_id}/funnel",
        response_model=Funnel,
        summary="The product's journey funnel: reach, conversion, timing and drop-offs",
        responses=UNCHANGED,
    )
    async def get_funnel(request: Request, cohort: ProductCohort, _: reader) -> Response:
        async def compute(conn: asyncpg.Connection) -> Funnel:
            sums = await queries.funnel(conn, cohort, len(stage_model.stages))
            return presenters.funnel(cohort, stage_model.stages, sums)

        return await answer(request, cohort_version(cohort), compute)

    @router.get(
        "/touchpoints",
        response_model=TouchpointPage,
        summary="Per touchpoint (type and channel): volume, click-through, conversion, "
        "bounce, sentiment and friction",
        responses=UNCHANGED,
    )
    async def get_touchpoints(
        request: Request,
        _: reader,
        product_id: Annotated[
            str | None, Query(min_length=1, description="All products when left out")
        ] = None,
        since: Since = None,
        until: Until = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Response:
        check_range(since, until)
        first_day, end_day = day_bounds(since, until)

        async def version(conn: asyncpg.Connection) -> str:
            products = await queries.product_version(conn, product_id)
            return f"{products}:{await queries.hotspots_version(conn)}"

        async def compute(conn: asyncpg.Connection) -> TouchpointPage:
            sums = await queries.touch_sums(conn, product_id, first_day, end_day)
            figures = presenters.touchpoint_figures(sums, stage_model.click_through)
            page, next_cursor = keyset_page(
                figures, lambda f: (-f.volume, f.type, f.channel), cursor, limit
            )
            return TouchpointPage(
                product_id=product_id,
                since=None if since is None else first_day,
                until=None if until is None else end_day,
                touchpoints=page,
                next_cursor=next_cursor,
            )

        return await answer(request, version, compute)

    @router.get(
        "/hotspots",
        response_model=Hotspots,
        summary="Touchpoints, channels and products ranked by friction and negative "
        "sentiment, with NPS and CSAT",
        responses=UNCHANGED,
    )
    async def get_hotspots(
        request: Request,
        _: reader,
        since: Since = None,
        until: Until = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response:
        check_range(since, until)
        first_day, end_day = day_bounds(since, until)

        async def compute(conn: asyncpg.Connection) -> Hotspots:
            sums = await queries.experience_sums(conn, first_day, end_day)
            touchpoints, next_cursor = keyset_page(
                [s for s in sums if s.kind == "touchpoint"], presenters.worst_first, cursor, limit
            )
            return presenters.hotspots(
                sums,
                touchpoints,
                next_cursor,
                None if since is None else first_day,
                None if until is None else end_day,
            )

        return await answer(request, queries.hotspots_version, compute)

    @router.get(
        "/products/{product_id}/flow",
        response_model=StageFlow,
        summary="Stage-to-stage flow of the product's journeys, with drop-off and revisits",
        responses=UNCHANGED,
    )
    async def get_flow(request: Request, cohort: ProductCohort, _: reader) -> Response:
        async def compute(conn: asyncpg.Connection) -> StageFlow:
            return presenters.stage_flow(
                cohort, stage_model.stages, await queries.flow(conn, cohort)
            )

        return await answer(request, cohort_version(cohort), compute)

    @router.get(
        "/products/{product_id}/funnel/dropped",
        response_model=DroppedPage,
        summary="The journeys the funnel counts as dropped in one stage, paged",
    )
    async def get_dropped(
        cohort: ProductCohort,
        stage: Annotated[str, Query(description="A stage of the stage model")],
        _: reader,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> DroppedPage:
        product_id = cohort.product_id
        if stage not in stage_model.stages:
            raise ApiProblem(
                422, "unknown_stage", f"stage {stage!r} is not one of {list(stage_model.stages)}"
            )
        after = (
            None if cursor is None else decode_cursor(cursor, cursor_time, cursor_text, cursor_int)
        )
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            found = await queries.dropped(
                conn, cohort, stage_model.stages.index(stage), after, limit + 1
            )
        page = found[:limit]
        last = page[-1] if len(found) > limit else None
        return DroppedPage(
            product_id=product_id,
            stage=stage,
            journeys=[
                DroppedJourney(
                    **dataclasses.asdict(journey),
                    map_url=presenters.journey_url(base_url, journey, product_id),
                )
                for journey in page
            ],
            next_cursor=None
            if last is None
            else encode_cursor(last.abandoned_at.isoformat(), last.customer_id, last.instance),
        )

    @router.get(
        "/products",
        response_model=ProductList,
        summary="Products with journeys, most journeys first",
    )
    async def list_products(_: reader) -> ProductList:
        async with ctx.engine.connect() as sa_conn:
            found = await queries.products(await driver_connection(sa_conn))
        return ProductList(products=[ProductJourneys(product_id=p, journeys=n) for p, n in found])

    @router.get("/stage-model", response_model=StageModel, summary="Stages and their event types")
    async def get_stage_model(_: reader) -> StageModel:
        catalogue = stage_model.catalogue()
        return StageModel(
            stages=list(catalogue.stages),
            stage_types={stage: list(types) for stage, types in catalogue.stage_types.items()},
            conversion_type=catalogue.conversion_type,
            error_types=sorted(catalogue.error_types),
            support_contact_types=sorted(catalogue.support_contact_types),
        )

    return router
