"""The ingest service's routes, for a composition root to mount."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.ingest.context import IngestContext
from services.ingest.routes.events import DOCUMENTED_BODIES, events_router


def ingest_routers(ctx: IngestContext) -> list[APIRouter]:
    return [events_router(ctx)]


def ingest_documented_bodies() -> tuple[type[BaseModel], ...]:
    return DOCUMENTED_BODIES
