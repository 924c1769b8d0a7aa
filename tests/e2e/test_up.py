"""`journeymap up` as a real process: a fresh data folder, its own PostgreSQL, restarts."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.polling import eventually
from tests.support.process import (
    Service,
    clean_env,
    local_postgres,
    local_postgres_stopped_after,
    reaped,
    run_cli,
    start_up,
    stop,
)
from tests.support.server import free_port


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    with local_postgres_stopped_after(folder):
        yield folder


def _client(service: Service, role: str) -> httpx.AsyncClient:
    key = service.key(role)
    return httpx.AsyncClient(
        base_url=service.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


def _event(n: int, customer: str, event_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"{customer}-{n}",
        "customer_id": customer,
        "type": event_type,
        "product_id": "bike",
        "timestamp": f"2026-11-20T10:{n % 60:02d}:{n // 60 % 60:02d}Z",
        **extra,
    }


async def _journey(service: Service, customer: str, count: int) -> dict[str, Any]:
    async with _client(service, "read") as reader:

        async def probe() -> dict[str, Any] | None:
            response = await reader.get(f"/v1/customers/{customer}/journeys/bike")
            if response.status_code == 200 and response.json()["touchpoint_count"] >= count:
                body: dict[str, Any] = response.json()
                return body
            return None

        return await eventually(probe, within=30)


async def test_up_keeps_the_maps_across_a_clean_restart(data_dir: Path) -> None:
    port = free_port()
    async with reaped(await start_up(data_dir, port)) as first:
        write_key = first.key("write")
        async with _client(first, "write") as writer:
            batch = [
                _event(1, "carol", "ad_click"),
                _event(2, "carol", "product_view"),
                _event(3, "carol", "purchase", revenue=20),
                _event(4, "carol", "support_ticket_opened"),
            ]
            assert (await writer.post("/v1/events", json={"batch": batch})).status_code == 202
        before = await _journey(first, "carol", 4)
        assert before["stage"] == "service"
        assert await stop(first) == 0

    assert local_postgres(data_dir) == [], "a clean stop leaves no PostgreSQL running"

    async with reaped(await start_up(data_dir, port)) as second:
        assert second.key("write") == write_key
        after = await _journey(second, "carol", 4)
        assert after == before
        assert await stop(second, signal.SIGTERM) == 0
    assert local_postgres(data_dir) == []


async def test_up_adopts_the_postgresql_a_killed_run_left_and_stops_it(data_dir: Path) -> None:
    killed = await start_up(data_dir, free_port())
    killed.process.kill()
    await killed.process.wait()
    assert local_postgres(data_dir), "a SIGKILL leaves the server running"

    async with reaped(await start_up(data_dir, free_port())) as adopter:
        async with _client(adopter, "read") as reader:
            assert (await reader.get("/readyz")).status_code == 200
        assert await stop(adopter, signal.SIGTERM) == 0

    async def stopped() -> bool | None:
        return not local_postgres(data_dir) or None

    await eventually(stopped, within=30)


async def test_sigkill_mid_stream_loses_no_acknowledged_event(data_dir: Path) -> None:
    port = free_port()
    acknowledged: list[str] = []
    async with reaped(await start_up(data_dir, port)) as first:

        async def send_for_ever(writer: httpx.AsyncClient, customer: str) -> None:
            for n in range(10_000):
                batch = [_event(n * 10 + i, customer, "page_view") for i in range(10)]
                response = await writer.post("/v1/events", json={"batch": batch})
                if response.status_code == 202:
                    acknowledged.extend(e["event_id"] for e in batch)

        async with _client(first, "write") as writer:
            senders = [asyncio.create_task(send_for_ever(writer, f"k{c}")) for c in range(4)]

            async def enough_acknowledged() -> bool | None:
                return len(acknowledged) >= 400 or None

            await eventually(enough_acknowledged)
            first.process.kill()
            await first.process.wait()
            results = await asyncio.gather(*senders, return_exceptions=True)
            assert all(isinstance(r, httpx.TransportError) for r in results)

    async with reaped(await start_up(data_dir, port)) as second:
        for c in range(4):
            customer = f"k{c}"
            mine = [e for e in acknowledged if e.startswith(f"{customer}-")]
            journey = await _journey(second, customer, len(mine))
            ids = [t["event_id"] for stage in journey["stages"] for t in stage["touchpoints"]]
            assert len(ids) == len(set(ids)), "an event was counted twice"
            assert set(mine) <= set(ids), "an acknowledged event was lost"
        assert await stop(second) == 0


def test_migrate_command_prepares_a_database(data_dir: Path) -> None:
    result = run_cli("migrate", "--data-dir", str(data_dir))

    assert result.returncode == 0, result.stderr
    assert "database schema is up to date" in result.stdout


async def test_generated_keys_stay_out_of_logs_and_in_a_private_file(data_dir: Path) -> None:
    async with reaped(await start_up(data_dir, free_port())) as service:
        keys = json.loads((data_dir / "keys.json").read_text())
        assert set(keys) == {"write", "read", "alerts"}
        assert stat.S_IMODE((data_dir / "keys.json").stat().st_mode) == 0o600
        assert await stop(service) == 0
    # Its output is not a terminal here: the banner names the file, never a key.
    printed = "\n".join(service.banner) + service.log_path.read_text()
    assert str(data_dir.resolve() / "keys.json") in printed
    assert not [key for key in keys.values() if key in printed]


async def test_keys_from_the_environment_are_not_generated_again(data_dir: Path) -> None:
    env = clean_env(JOURNEYMAP_WRITE_KEY="env-write-key", JOURNEYMAP_READ_KEY="env-read-key")
    async with reaped(await start_up(data_dir, free_port(), env=env)) as service:
        assert json.loads((data_dir / "keys.json").read_text()).keys() == {"alerts"}
        assert any("write, read from the environment" in line for line in service.banner)
        assert await stop(service) == 0
    listed = run_cli("keys", "list", "--data-dir", str(data_dir), env=env)
    assert [line.split("\t")[0].rsplit("-", 1)[0] for line in listed.stdout.splitlines()] == [
        "local-alerts"
    ]


def test_a_busy_port_stops_up_before_it_starts_anything(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run_cli("up", "--port", str(port), "--data-dir", str(data_dir))

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "journeymap is starting" not in result.stdout
    assert not (data_dir / "postgres").exists(), "nothing was started"


@pytest.mark.parametrize(("log_format", "json_lines"), [("json", True), ("text", False)])
def test_logs_are_json_for_machines_and_lines_for_people(
    data_dir: Path, log_format: str, json_lines: bool
) -> None:
    result = run_cli("--log-format", log_format, "migrate", "--data-dir", str(data_dir))

    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines
    assert all(line.startswith("{") == json_lines for line in lines), lines
