from __future__ import annotations

import pytest

from services.aggregator.decode import Poison
from services.aggregator.errors import PoisonFlood
from services.aggregator.poison_guard import PoisonGuard
from shared.log.interface import LogRecord


def _records(flags: str) -> tuple[list[LogRecord], list[Poison]]:
    """'.' is a good record, 'x' a poison one."""
    records = [LogRecord("t", 0, i, None, b"{}") for i in range(len(flags))]
    poison = [Poison(r, "bad") for r, flag in zip(records, flags, strict=True) if flag == "x"]
    return records, poison


@pytest.mark.parametrize(
    ("flags", "trips"),
    [
        ("." * 20, False),
        ("x" + "." * 19, False),
        ("x" * 10 + "." * 10, False),  # exactly half
        ("x" * 11 + "." * 9, True),  # more than half
        ("x" * 5, False),  # small batches never trip on the ratio
    ],
)
def test_ratio_within_a_batch(flags: str, trips: bool) -> None:
    guard = PoisonGuard(max_ratio=0.5, min_batch=20, max_in_row=100)
    records, poison = _records(flags)

    if trips:
        with pytest.raises(PoisonFlood, match="records in one batch are poison"):
            guard.check(records, poison)
    else:
        guard.check(records, poison)


def test_too_many_in_a_row_across_batches() -> None:
    guard = PoisonGuard(max_ratio=1.0, min_batch=1000, max_in_row=5)
    guard.check(*_records("..xxx"))

    with pytest.raises(PoisonFlood, match="5 poison records in a row"):
        guard.check(*_records("xx."))


def test_a_good_record_resets_the_run() -> None:
    guard = PoisonGuard(max_ratio=1.0, min_batch=1000, max_in_row=5)

    guard.check(*_records("xxxx."))
    guard.check(*_records("xxxx."))
