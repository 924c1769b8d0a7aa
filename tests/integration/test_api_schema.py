"""Schemathesis checks every route against the OpenAPI schema of a running service: no
5xx, and every status, content type, header and body as the schema declares it.

It runs once for each key, on the routes that key is for: the write key on the
ingest doors, the read key on the maps and figures, the alerts key on alert actions.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.support.embedded import ALERTS_KEY, READ_KEY, WRITE_KEY, Running, running_embedded

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
INGEST = (
    "^/v1/(events|track|identify|page|screen|group|alias|batch|import"
    "|support/interactions|surveys)$"
)
# A fixed seed and no example database: the same cases on every run.
SEED = os.environ.get("JOURNEYMAP_TEST_FUZZ_SEED", "20261203")
SEED_EVENTS = [
    {"event_id": "s1", "customer_id": "alice", "type": "product_view", "product_id": "bike",
     "timestamp": "2026-11-20T10:00:00Z"},
    {"event_id": "s2", "customer_id": "alice", "type": "purchase", "product_id": "bike",
     "revenue": 10, "timestamp": "2026-11-20T10:05:00Z"},
    {"event_id": "s3", "customer_id": "alice", "type": "survey_response", "nps": 2,
     "timestamp": "2026-11-20T10:06:00Z"},
]  # fmt: skip


async def schemathesis(service: Running, key: str, *selection: str) -> str:
    """Run schemathesis on the selected operations; its report, asserted clean."""
    fuzz = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "run",
        f"{service.base_url}/openapi.json",
        "--checks",
        CHECKS,
        "-H",
        f"Authorization: Bearer {key}",
        *selection,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "25",
        "--seed",
        SEED,
        "--generation-database",
        "none",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await fuzz.communicate()
    report = output.decode()
    assert fuzz.returncode == 0, report[-8000:]
    assert "Server error" not in report
    return report


@pytest.mark.parametrize(
    ("key", "selection"),
    [
        pytest.param(WRITE_KEY, ("--include-path-regex", INGEST), id="write key, ingest"),
        pytest.param(
            READ_KEY,
            ("--include-method", "GET"),
            id="read key, every read",
        ),
        pytest.param(
            ALERTS_KEY,
            ("--include-path-regex", "^/v1/alerts/"),
            id="alerts key, alert actions",
        ),
    ],
)
async def test_every_route_answers_as_its_schema_says(
    clean_database: str, key: str, selection: tuple[str, ...]
) -> None:
    async with running_embedded(clean_database) as service:
        seeded = await service.writer.post("/v1/events", json={"batch": SEED_EVENTS})
        assert seeded.status_code == 202
        await schemathesis(service, key, *selection)
