"""Stop loudly instead of dead-lettering everything.

A few poison records are normal; a flood means a bad deploy or a wrong topic, and
dead-lettering all of it would hide the problem. The guard trips when most of a
batch is poison, or when too many poison records arrive in a row.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.aggregator.decode import Poison
from services.aggregator.errors import PoisonFlood
from shared.log.interface import LogRecord


class PoisonGuard:
    def __init__(
        self, *, max_ratio: float = 0.5, min_batch: int = 20, max_in_row: int = 100
    ) -> None:
        self._max_ratio = max_ratio
        self._min_batch = min_batch
        self._max_in_row = max_in_row
        self._in_row = 0

    def check(self, records: Sequence[LogRecord], poison: Sequence[Poison]) -> None:
        """Raise PoisonFlood if this batch trips the guard."""
        poisoned = {(p.record.partition, p.record.offset) for p in poison}
        poison_flags = [(r.partition, r.offset) in poisoned for r in records]
        if len(records) >= self._min_batch and len(poisoned) > self._max_ratio * len(records):
            raise PoisonFlood(
                f"{len(poisoned)} of {len(records)} records in one batch are poison; "
                "stopping instead of dead-lettering them"
            )
        for is_poison in poison_flags:
            self._in_row = self._in_row + 1 if is_poison else 0
            if self._in_row >= self._max_in_row:
                raise PoisonFlood(
                    f"{self._in_row} poison records in a row; "
                    "stopping instead of dead-lettering them"
                )
