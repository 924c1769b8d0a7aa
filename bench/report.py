"""Benchmark rows: a figure, its same-run baseline, the ratio, and the target."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    unit: str
    # What the parts underneath manage in the same run (None for absolute figures).
    baseline: float | None
    baseline_name: str
    target: str
    meets: bool

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.value / self.baseline


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(rows: list[Row]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "ok")
    lines = [
        (
            r.figure,
            f"{_number(r.value)} {r.unit}",
            "-" if r.baseline is None else f"{_number(r.baseline)} ({r.baseline_name})",
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            r.target,
            "yes" if r.meets else "NO",
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def write_json(rows: list[Row], path: Path, machine: dict[str, object]) -> None:
    doc = {"machine": machine, "rows": [asdict(r) | {"ratio": r.ratio} for r in rows]}
    path.write_text(json.dumps(doc, indent=2) + "\n")
