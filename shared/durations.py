"""Durations as people write them: "7 days", "30 minutes", "1 day 2 hours"."""

from __future__ import annotations

from datetime import timedelta

UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def human_duration(duration: timedelta, *, parts: int = 2) -> str:
    """The largest `parts` non-zero units, rounded down; sub-second durations in ms."""
    total = duration.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total < 1:
        return f"{sign}{round(total * 1000)} ms"
    remaining = int(total)
    words = []
    for name, seconds in UNITS:
        count, remaining = divmod(remaining, seconds)
        if count:
            words.append(f"{count:,} {name}{'' if count == 1 else 's'}")
    return sign + " ".join(words[:parts])
