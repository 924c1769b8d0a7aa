"""`journeymap keys`: keys are stored hashed, and revoking one needs no restart."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
from sqlalchemy import text

from shared.db.engine import create_engine
from tests.support.embedded import running_embedded
from tests.support.polling import eventually
from tests.support.process import clean_env, run_cli


async def test_keys_are_created_listed_and_revoked_without_a_restart(clean_database: str) -> None:
    env = clean_env(JOURNEYMAP_DATABASE_URL=clean_database)

    async def cli(*args: str) -> str:
        result = await asyncio.to_thread(run_cli, *args, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    key = (await cli("keys", "create", "--name", "site", "--scope", "write")).strip()
    listed = await cli("keys", "list")
    assert listed.startswith("site\t" + key[:12] + "...\twrite\tactive")
    assert key not in listed
    engine = create_engine(clean_database)
    try:
        async with engine.connect() as conn:
            stored = await conn.scalar(text("SELECT key_hash FROM api_keys WHERE name = 'site'"))
    finally:
        await engine.dispose()
    assert stored == hashlib.sha256(key.encode()).hexdigest()

    async with running_embedded(clean_database, static_keys=False) as service:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=service.base_url, headers=headers) as site:
            event = {"customer_id": "c", "type": "page_view"}
            assert (await site.post("/v1/events", json=event)).status_code == 202

            assert "revoked site" in await cli("keys", "revoke", "site")

            async def refused() -> bool | None:
                response = await site.post("/v1/events", json=event)
                return response.status_code == 401 or None

            await eventually(refused, within=10)
    assert "revoked" in (await cli("keys", "list"))
    duplicate = await asyncio.to_thread(
        run_cli, "keys", "create", "--name", "site", "--scope", "read", env=env
    )
    assert duplicate.returncode != 0
    assert "a key named 'site' exists already" in duplicate.stderr
