"""Names of the change counters in `data_versions`, shared by the writer and the API."""

from __future__ import annotations

HOTSPOTS_SCOPE = "hotspots"
PRODUCT_SCOPE_PREFIX = "product:"


def product_scope(product_id: str) -> str:
    return PRODUCT_SCOPE_PREFIX + product_id
