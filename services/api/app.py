"""The query API's routes, for a composition root to mount."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.context import ApiContext
from services.api.routes.customers import customers_router


def api_routers(ctx: ApiContext) -> list[APIRouter]:
    return [customers_router(ctx)]
