"""The database as a service component: readiness, and disposal at shutdown."""

from __future__ import annotations

import functools

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import check_database
from shared.web.service import Component


def database_component(engine: AsyncEngine) -> Component:
    return Component(
        checks={"database": functools.partial(check_database, engine)},
        stop=[engine.dispose],
    )
