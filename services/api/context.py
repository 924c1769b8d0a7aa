"""What the query API routes need, wired once by a composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.config import Settings
from shared.web.auth import KeyStore


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    engine: AsyncEngine
    keys: KeyStore
    clock: Clock
