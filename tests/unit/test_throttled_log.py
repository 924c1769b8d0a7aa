"""Repeated warnings: once per kind per interval, with the count of the rest."""

from __future__ import annotations

import logging

import pytest

from shared.throttled_log import ThrottledLog


def test_each_kind_is_logged_once_per_interval_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = ThrottledLog(logging.getLogger("t"), interval=60, clock=lambda: now[0])

    with caplog.at_level(logging.WARNING, logger="t"):
        for second in range(120):
            now[0] = float(second)
            log.warning("send", "a Kafka send failed: %s", "down")
            log.warning("connect", "cannot connect")

    assert caplog.messages == [
        "a Kafka send failed: down",
        "cannot connect",
        "a Kafka send failed: down (and 59 more like it in the last 60 s)",
        "cannot connect (and 59 more like it in the last 60 s)",
    ]
