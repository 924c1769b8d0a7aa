"""SQL for the figures across customers: touch and hotspot figures, change counters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

import asyncpg

from shared.domain.experience_stats import HotspotFigures, HotspotKey
from shared.domain.journey_stats import ProductTouchKey, TouchFigures


async def _add_sums(
    conn: asyncpg.Connection,
    table: str,
    key_columns: list[tuple[str, str]],
    changes: Mapping[Any, Any],
) -> None:
    """Add dataclass figures to a counters table, by key (one statement for all keys)."""
    if not changes:
        return
    keys = sorted(changes)
    names = [f.name for f in fields(next(iter(changes.values())))]
    key_names = ", ".join(name for name, _ in key_columns)
    arrays = [f"{sql_type}[]" for _, sql_type in key_columns] + ["bigint[]"] * len(names)
    await conn.execute(
        f"INSERT INTO {table} ({key_names}, {', '.join(names)}) SELECT * FROM unnest("
        + ", ".join(f"${i + 1}::{array}" for i, array in enumerate(arrays))
        + f") ON CONFLICT ({key_names}) DO UPDATE SET "
        + ", ".join(f"{n} = {table}.{n} + EXCLUDED.{n}" for n in names),
        *zip(*keys, strict=True),
        *([getattr(changes[k], n) for k in keys] for n in names),
    )


async def add_touch_figures(
    conn: asyncpg.Connection, changes: Mapping[ProductTouchKey, TouchFigures]
) -> None:
    columns = [
        ("product_id", "text"),
        ("cohort_day", "date"),
        ("type", "text"),
        ("channel", "text"),
    ]
    await _add_sums(conn, "touch_stats", columns, changes)


async def add_hotspot_figures(
    conn: asyncpg.Connection, changes: Mapping[HotspotKey, HotspotFigures]
) -> None:
    columns = [("day", "date"), ("product_id", "text"), ("type", "text"), ("channel", "text")]
    await _add_sums(conn, "hotspot_stats", columns, changes)


async def bump_versions(conn: asyncpg.Connection, scopes: Iterable[str]) -> None:
    """Mark these figures changed (in a fixed order, so writers cannot deadlock)."""
    wanted = sorted(set(scopes))
    if wanted:
        await conn.execute(
            "INSERT INTO data_versions (scope, version) SELECT s, 1 FROM unnest($1::text[]) s "
            "ON CONFLICT (scope) DO UPDATE SET version = data_versions.version + 1",
            wanted,
        )
