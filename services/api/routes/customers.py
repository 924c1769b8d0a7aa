"""Per-customer maps: the experience map, the journey maps, the touchpoint timeline.

Each answer carries a strong ETag derived from the customer's stored versions, so a
dashboard polling with If-None-Match gets 304 without the maps being read.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from services.api import models, presenters, queries
from services.api.context import ApiContext
from shared.db.engine import driver_connection
from shared.web.auth import Principal, require_scope
from shared.web.cursor import cursor_int, cursor_text, cursor_time, decode_cursor, encode_cursor
from shared.web.etag import etag_for, not_modified, tagged
from shared.web.problems import INT_MAX, ApiProblem, declared
from shared.web.timerange import check_range

CustomerId = Annotated[str, Path(min_length=1, max_length=200)]
ProductId = Annotated[str, Path(min_length=1, max_length=200)]


def unknown_customer(customer_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, f"no touchpoints seen for customer {customer_id!r}"
    )


# Sentiment points and support contacts shown on the experience map, the latest ones;
# the timeline pages through all of a customer's touchpoints.
LATEST_MOMENTS = 200

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified since the ETag sent in If-None-Match"},
    **declared(404, why={404: "No touchpoint has been seen for this customer (or product)"}),
}


@dataclass(frozen=True, slots=True)
class StepPage:
    """Where a page of a journey's steps starts. A later page also reads the last step
    the page before showed, to find out whether the journey was rebuilt since."""

    instance: int | None
    start: int
    last_shown: str | None = None

    @property
    def overlap(self) -> int:
        return 0 if self.last_shown is None else 1


def _first_page(instance: int | None) -> StepPage:
    return StepPage(instance, 0)


def _next_page(cursor: str, instance: int | None) -> StepPage:
    cursor_instance, start, last_shown = decode_cursor(cursor, cursor_int, cursor_int, cursor_text)
    if instance is not None and instance != cursor_instance:
        raise ApiProblem(
            422, "invalid_cursor", f"the cursor is for instance {cursor_instance}, not {instance}"
        )
    if start < 1:
        raise ApiProblem(422, "invalid_cursor", "cursor is not one this API returned")
    return StepPage(cursor_instance, start - 1, last_shown)


def customers_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1/customers", tags=["customers"])
    support_types = ctx.settings.stage_model.catalogue().support_contact_types
    reader = Annotated[Principal, Depends(require_scope(ctx.keys, "read"))]

    async def versioned(request: Request, customer_id: str) -> tuple[str, Response | None]:
        """The answer's ETag, and a 304 if the client has it (404 for unknown customers)."""
        async with ctx.engine.connect() as sa_conn:
            version = await queries.fingerprint(await driver_connection(sa_conn), customer_id)
        if version is None:
            raise unknown_customer(customer_id)
        etag = etag_for(request, version)
        return etag, not_modified(request, etag)

    @router.get(
        "/{customer_id}/experience",
        response_model=models.ExperienceMap,
        summary="The customer's experience map across all products and channels",
        responses=NOT_FOUND,
    )
    async def get_experience(request: Request, customer_id: CustomerId, _: reader) -> Response:
        etag, unchanged = await versioned(request, customer_id)
        if unchanged:
            return unchanged
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            state = await queries.experience(conn, customer_id)
            journeys = await queries.journeys(conn, customer_id)
            sentiment = await queries.latest_with_sentiment(conn, customer_id, LATEST_MOMENTS)
            contacts = await queries.latest_of_types(
                conn, customer_id, support_types, LATEST_MOMENTS
            )
        if state is None:
            raise unknown_customer(customer_id)
        summaries = [presenters.journey_summary(j.state, abandoned=j.abandoned) for j in journeys]
        body = presenters.experience_map(state, summaries, sentiment=sentiment, contacts=contacts)
        return tagged(body.model_dump(mode="json"), etag)

    @router.get(
        "/{customer_id}/journeys",
        response_model=models.JourneyList,
        summary="The customer's journeys: one per product and instance, with its outcome",
        responses=NOT_FOUND,
    )
    async def list_journeys(
        request: Request,
        customer_id: CustomerId,
        _: reader,
        cursor: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> Response:
        etag, unchanged = await versioned(request, customer_id)
        if unchanged:
            return unchanged
        after = None
        if cursor is not None:
            after = decode_cursor(cursor, cursor_text, cursor_int)
        async with ctx.engine.connect() as sa_conn:
            found = await queries.journeys(
                await driver_connection(sa_conn), customer_id, after=after, limit=limit + 1
            )
        page = found[:limit]
        body = models.JourneyList(
            customer_id=customer_id,
            journeys=[presenters.journey_summary(j.state, abandoned=j.abandoned) for j in page],
            next_cursor=encode_cursor(page[-1].state.product_id, page[-1].state.instance)
            if len(found) > limit
            else None,
        )
        return tagged(body.model_dump(mode="json"), etag)

    @router.get(
        "/{customer_id}/journeys/{product_id}",
        response_model=models.JourneyMap,
        summary="The customer's journey map for one product (the latest instance by default)",
        responses={
            **NOT_FOUND,
            **declared(409, why={409: "The journey was rebuilt since the cursor's page"}),
        },
    )
    async def get_journey(
        request: Request,
        customer_id: CustomerId,
        product_id: ProductId,
        _: reader,
        instance: Annotated[
            int | None, Query(ge=0, le=INT_MAX, description="Which journey")
        ] = None,
        cursor: Annotated[
            str | None, Query(description="A page after the first: the map's next_cursor")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="Touchpoints per page")] = 200,
    ) -> Response:
        etag, unchanged = await versioned(request, customer_id)
        if unchanged:
            return unchanged
        page = _first_page(instance) if cursor is None else _next_page(cursor, instance)
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            # One snapshot: the steps agree with the journey's counts.
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                found = await queries.journey(conn, customer_id, product_id, page.instance)
                steps = (
                    []
                    if found is None
                    else await queries.steps(
                        conn, found.state, after=page.start, limit=limit + 1 + page.overlap
                    )
                )
        if found is None:
            which = "" if page.instance is None else f" instance {page.instance}"
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"customer {customer_id!r} has no journey{which} for product {product_id!r}",
            )
        if page.overlap and (not steps or steps[0].event_id != page.last_shown):
            raise ApiProblem(
                409,
                "stale_cursor",
                "the journey was rebuilt since that page (a late event reordered it); "
                "start again from its first page",
            )
        steps = steps[page.overlap :]
        body = presenters.journey_map(
            found.state, steps[:limit], abandoned=found.abandoned, more=len(steps) > limit
        )
        return tagged(body.model_dump(mode="json"), etag)

    @router.get(
        "/{customer_id}/touchpoints",
        response_model=models.Timeline,
        summary="The customer's touchpoints, newest first (the experience timeline)",
        responses=NOT_FOUND,
    )
    async def get_timeline(
        request: Request,
        customer_id: CustomerId,
        _: reader,
        since: Annotated[datetime | None, Query(alias="from")] = None,
        until: Annotated[datetime | None, Query(alias="to")] = None,
        cursor: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> Response:
        check_range(since, until)
        etag, unchanged = await versioned(request, customer_id)
        if unchanged:
            return unchanged
        before = None
        if cursor is not None:
            before = decode_cursor(cursor, cursor_time, cursor_text)
        async with ctx.engine.connect() as sa_conn:
            found = await queries.timeline(
                await driver_connection(sa_conn),
                customer_id,
                since=since,
                until=until,
                before=before,
                limit=limit + 1,
            )
        page = found[:limit]
        body = models.Timeline(
            customer_id=customer_id,
            touchpoints=[presenters.timeline_entry(t) for t in page],
            next_cursor=encode_cursor(page[-1].occurred_at.isoformat(), page[-1].event_id)
            if len(found) > limit
            else None,
        )
        return tagged(body.model_dump(mode="json"), etag)

    return router
