"""Per-customer maps: the experience map and the journey maps."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status

from services.api import models, presenters, queries
from services.api.context import ApiContext
from shared.web.auth import Principal, require_scope

CustomerId = Annotated[str, Path(min_length=1, max_length=200)]
ProductId = Annotated[str, Path(min_length=1, max_length=200)]


def unknown_customer(customer_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, f"no touchpoints seen for customer {customer_id!r}"
    )


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No touchpoint has been seen for this customer (or product)"}
}


def customers_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1/customers", tags=["customers"])
    reader = Annotated[Principal, Depends(require_scope(ctx.keys, "read"))]
    window = ctx.settings.inactivity_window

    async def summaries(customer_id: str) -> list[models.JourneySummary]:
        now = ctx.clock.now()
        return [
            presenters.journey_summary(state, now, window)
            for state in await queries.journeys(ctx.engine, customer_id)
        ]

    @router.get(
        "/{customer_id}/experience",
        response_model=models.ExperienceMap,
        summary="The customer's experience map across all products and channels",
        responses=NOT_FOUND,
    )
    async def get_experience(customer_id: CustomerId, _: reader) -> models.ExperienceMap:
        state = await queries.experience(ctx.engine, customer_id)
        if state is None:
            raise unknown_customer(customer_id)
        return presenters.experience_map(state, await summaries(customer_id))

    @router.get(
        "/{customer_id}/journeys",
        response_model=models.JourneyList,
        summary="One journey per product the customer has engaged with",
        responses=NOT_FOUND,
    )
    async def list_journeys(customer_id: CustomerId, _: reader) -> models.JourneyList:
        found = await summaries(customer_id)
        if not found and await queries.experience(ctx.engine, customer_id) is None:
            raise unknown_customer(customer_id)
        return models.JourneyList(customer_id=customer_id, journeys=found)

    @router.get(
        "/{customer_id}/journeys/{product_id}",
        response_model=models.JourneyMap,
        summary="The customer's journey map for one product",
        responses=NOT_FOUND,
    )
    async def get_journey(
        customer_id: CustomerId, product_id: ProductId, _: reader
    ) -> models.JourneyMap:
        state = await queries.journey(ctx.engine, customer_id, product_id)
        if state is None:
            if await queries.experience(ctx.engine, customer_id) is None:
                raise unknown_customer(customer_id)
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"customer {customer_id!r} has no journey for product {product_id!r}",
            )
        return presenters.journey_map(state, ctx.clock.now(), window)

    return router
