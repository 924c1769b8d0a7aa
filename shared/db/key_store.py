"""API keys in PostgreSQL, stored as SHA-256 hashes, managed by `journeymap keys`.

Keys are long random tokens, so an unsalted hash is enough to make the table useless
to a reader. Lookups are cached for a couple of seconds: a revoked key stops working
within that time, without a restart.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.web.auth import Principal

SCOPES = ("write", "read", "alerts")
CACHE_SECONDS = 2.0


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(scope: str) -> str:
    return f"jm_{scope}_{secrets.token_urlsafe(24)}"


@dataclass(frozen=True)
class StoredKey:
    name: str
    prefix: str
    scopes: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    rate_per_second: float | None
    burst: int | None
    created_at: datetime
    revoked_at: datetime | None


class KeyExists(ValueError):
    pass


async def create_key(
    engine: AsyncEngine,
    name: str,
    scopes: Sequence[str],
    *,
    allowed_origins: Sequence[str] = (),
    rate_per_second: float | None = None,
    burst: int | None = None,
) -> str:
    """Create a key and return it: this is the only time it is seen in clear."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {SCOPES}, got {list(scopes)}")
    key = new_key(scopes[0])
    async with engine.begin() as conn:
        exists = await conn.scalar(text("SELECT 1 FROM api_keys WHERE name = :n"), {"n": name})
        if exists:
            raise KeyExists(f"a key named {name!r} exists already")
        await conn.execute(
            text(
                "INSERT INTO api_keys (name, prefix, key_hash, scopes, allowed_origins, "
                "rate_per_second, burst) VALUES (:name, :prefix, :hash, :scopes, :origins, "
                ":rate, :burst)"
            ),
            {
                "name": name,
                "prefix": key[:12],
                "hash": hash_key(key),
                "scopes": list(scopes),
                "origins": list(allowed_origins),
                "rate": rate_per_second,
                "burst": burst,
            },
        )
    return key


async def list_keys(engine: AsyncEngine) -> list[StoredKey]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT name, prefix, scopes, allowed_origins, rate_per_second, burst, "
                "created_at, revoked_at FROM api_keys ORDER BY name"
            )
        )
        return [
            StoredKey(
                name=row.name,
                prefix=row.prefix,
                scopes=tuple(row.scopes),
                allowed_origins=tuple(row.allowed_origins),
                rate_per_second=row.rate_per_second,
                burst=row.burst,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
            )
            for row in rows
        ]


async def revoke_key(engine: AsyncEngine, name: str) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE name = :n AND revoked_at IS NULL"),
            {"n": name},
        )
        return bool(result.rowcount)


class DatabaseKeyStore:
    def __init__(self, engine: AsyncEngine, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._engine = engine
        self._cache: TTLCache[str, Principal | None] = TTLCache(maxsize=10_000, ttl=cache_seconds)
        self._origins: TTLCache[str, frozenset[str]] = TTLCache(maxsize=1, ttl=cache_seconds)

    async def authenticate(self, token: str) -> Principal | None:
        digest = hash_key(token)
        if digest in self._cache:
            return self._cache[digest]
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT name, scopes, allowed_origins, rate_per_second, burst "
                        "FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL"
                    ),
                    {"h": digest},
                )
            ).first()
        principal = (
            None
            if row is None
            else Principal(
                key_name=row.name,
                scopes=frozenset(row.scopes),
                allowed_origins=frozenset(row.allowed_origins),
                rate_per_second=row.rate_per_second,
                burst=row.burst,
            )
        )
        self._cache[digest] = principal
        return principal

    async def browser_origins(self) -> frozenset[str]:
        """Every origin some live write key allows (CORS preflights carry no key)."""
        cached = self._origins.get("all")
        if cached is not None:
            return cached
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT DISTINCT unnest(allowed_origins) AS origin FROM api_keys "
                    "WHERE revoked_at IS NULL AND 'write' = ANY(scopes)"
                )
            )
            origins = frozenset(row.origin for row in rows)
        self._origins["all"] = origins
        return origins
