"""Schemathesis fuzzes the ingest OpenAPI schema against a running service: no 5xx."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.support.embedded import WRITE_KEY, running_embedded

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
INGEST_PATHS = (
    "^/v1/(events|track|identify|page|screen|group|alias|batch|import"
    "|support/interactions|surveys)$"
)


async def test_fuzzing_the_ingest_api_finds_no_server_error(clean_database: str) -> None:
    async with running_embedded(clean_database) as service:
        fuzz = await asyncio.create_subprocess_exec(
            SCHEMATHESIS,
            "run",
            f"{service.base_url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "-H",
            f"Authorization: Bearer {WRITE_KEY}",
            "--include-path-regex",
            INGEST_PATHS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--seed",
            "20261123",
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await fuzz.communicate()

    report = output.decode()
    assert fuzz.returncode == 0, report[-5000:]
    assert "Server error" not in report
