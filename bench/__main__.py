"""`python -m bench`: run the benchmarks, print the table, write the JSON."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path

import click
import psutil

from bench import (
    aggregator,
    dashboards,
    history,
    ingest,
    journey_query,
    kafka,
    latency,
    offset_check,
    realistic,
)
from bench.report import Row, table, write_json

BENCHMARKS: dict[str, Callable[[float], list[Row]]] = {
    "ingest": ingest.run,
    "aggregator": aggregator.run,
    "history": history.run,
    "journey-query": journey_query.run,
    "realistic": realistic.run,
    "latency": latency.run,
    "kafka": kafka.run,
    "dashboards": dashboards.run,
    "offset-check": offset_check.run,
}


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(sorted(BENCHMARKS)))
@click.option(
    "--scale", default=1.0, show_default=True, help="Fraction of the full data sizes (quick runs)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("bench/results.json"),
    show_default=True,
    help="Where the results go as JSON.",
)
def main(names: tuple[str, ...], scale: float, out: Path) -> None:
    """Run the benchmarks (all unless named); each row has its same-run baseline."""
    rows: list[Row] = []
    machine: dict[str, object] = {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "scale": scale,
    }
    for name in names or tuple(BENCHMARKS):
        click.echo(f"running {name} ...", err=True)
        rows += BENCHMARKS[name](scale)
        # Kept as each benchmark ends, so a long run's figures survive a later failure.
        write_json(rows, out, machine)
        click.echo(table(rows), err=True)
    click.echo(table(rows))
    click.echo(f"results written to {out}", err=True)


if __name__ == "__main__":
    main()
