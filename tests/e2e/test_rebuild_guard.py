"""`journeymap rebuild-maps` refuses to run beside a live aggregator, and names it."""

from __future__ import annotations

import asyncio
import os
import socket

from tests.support.embedded import running_embedded
from tests.support.process import clean_env, run_cli


async def test_rebuild_maps_waits_for_no_aggregator_unless_forced(clean_database: str) -> None:
    env = clean_env(JOURNEYMAP_DATABASE_URL=clean_database)
    async with running_embedded(clean_database):
        refused = await asyncio.to_thread(run_cli, "rebuild-maps", env=env)
        forced = await asyncio.to_thread(run_cli, "rebuild-maps", "--force", env=env)
    alone = await asyncio.to_thread(run_cli, "rebuild-maps", env=env)

    assert refused.returncode == 1
    assert "aggregators are running: journeymap aggregator on" in refused.stderr
    assert f"{socket.gethostname()}, pid {os.getpid()}" in refused.stderr
    assert "--force" in refused.stderr
    assert forced.returncode == 0, forced.stderr
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.startswith("rebuilt 0 journeys of 0 customers")
