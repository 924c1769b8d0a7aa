"""An open-loop load generator, run as its own process: a fixed event rate, in batches.

    python -m bench.loadgen URL WRITE_KEY --rate 2000 --seconds 30 --batch 20

Prints one JSON line: events sent, accepted, and requests that failed.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime

import click
import httpx

from bench.population import event_body


async def _offer(url: str, key: str, rate: int, seconds: float, batch: int) -> dict[str, int]:
    rng = random.Random(5)
    counts = {"sent": 0, "accepted": 0, "failed_requests": 0}
    tasks: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=64)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def post(events: list[dict[str, object]]) -> None:
            response = await client.post("/v1/events", json={"batch": events})
            if response.status_code == 202:
                counts["accepted"] += len(events)
            else:
                counts["failed_requests"] += 1

        start = time.perf_counter()
        number = 0
        while time.perf_counter() - start < seconds:
            now = datetime.now(UTC)
            events = []
            for _ in range(batch):
                customer = rng.randrange(100_000)
                events.append(event_body(rng, customer, number, now))
                number += 1
            counts["sent"] += len(events)
            task = asyncio.create_task(post(events))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            # Open loop: the next batch leaves on schedule, whatever the answers do.
            await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
    return counts


@click.command()
@click.argument("url")
@click.argument("key")
@click.option("--rate", default=2000, show_default=True, help="Events per second offered.")
@click.option("--seconds", default=30.0, show_default=True)
@click.option("--batch", default=20, show_default=True, help="Events per request.")
def main(url: str, key: str, rate: int, seconds: float, batch: int) -> None:
    click.echo(json.dumps(asyncio.run(_offer(url, key, rate, seconds, batch))))


if __name__ == "__main__":
    main()
