"""SQL for the figures across customers: touch and hotspot figures, change counters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import date

import asyncpg

from shared.domain.experience_stats import HotspotFigures, HotspotKey
from shared.domain.journey_stats import TouchFigures

ProductTouchKey = tuple[str, date, str, str]  # product, cohort day, type, channel

HOTSPOTS_SCOPE = "hotspots"


def product_scope(product_id: str) -> str:
    return f"product:{product_id}"


async def add_touch_figures(
    conn: asyncpg.Connection, changes: Mapping[ProductTouchKey, TouchFigures]
) -> None:
    if not changes:
        return
    keys = sorted(changes)
    names = [f.name for f in fields(TouchFigures)]
    await conn.execute(
        f"INSERT INTO touch_stats (product_id, cohort_day, type, channel, {', '.join(names)}) "
        "SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], "
        + ", ".join(f"${i + 5}::bigint[]" for i in range(len(names)))
        + ") ON CONFLICT (product_id, cohort_day, type, channel) DO UPDATE SET "
        + ", ".join(f"{n} = touch_stats.{n} + EXCLUDED.{n}" for n in names),
        *zip(*keys, strict=True),
        *([getattr(changes[k], n) for k in keys] for n in names),
    )


async def add_hotspot_figures(
    conn: asyncpg.Connection, changes: Mapping[HotspotKey, HotspotFigures]
) -> None:
    if not changes:
        return
    keys = sorted(changes)
    names = [f.name for f in fields(HotspotFigures)]
    await conn.execute(
        f"INSERT INTO hotspot_stats (day, product_id, type, channel, {', '.join(names)}) "
        "SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], "
        + ", ".join(f"${i + 5}::bigint[]" for i in range(len(names)))
        + ") ON CONFLICT (day, product_id, type, channel) DO UPDATE SET "
        + ", ".join(f"{n} = hotspot_stats.{n} + EXCLUDED.{n}" for n in names),
        *zip(*keys, strict=True),
        *([getattr(changes[k], n) for k in keys] for n in names),
    )


async def bump_versions(conn: asyncpg.Connection, scopes: Iterable[str]) -> None:
    """Mark these figures changed (in a fixed order, so writers cannot deadlock)."""
    wanted = sorted(set(scopes))
    if wanted:
        await conn.execute(
            "INSERT INTO data_versions (scope, version) SELECT s, 1 FROM unnest($1::text[]) s "
            "ON CONFLICT (scope) DO UPDATE SET version = data_versions.version + 1",
            wanted,
        )
