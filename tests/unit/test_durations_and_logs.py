"""Durations as people write them, and log lines for people on a terminal."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

import pytest
from pythonjsonlogger.json import JsonFormatter

from shared import logs
from shared.durations import human_duration


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=7), "7 days"),
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(days=1, hours=2, minutes=3), "1 day 2 hours"),
        (timedelta(seconds=1), "1 second"),
        (timedelta(milliseconds=250), "250 ms"),
        (timedelta(days=1125, hours=5, minutes=54), "1,125 days 5 hours"),
        (-timedelta(hours=3), "-3 hours"),
    ],
)
def test_durations_read_as_people_write_them(duration: timedelta, text: str) -> None:
    assert human_duration(duration) == text


@pytest.mark.parametrize(("terminal", "json"), [(True, False), (False, True)])
def test_auto_logs_lines_on_a_terminal_and_json_elsewhere(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, json: bool
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    formatter = logs._formatter("auto")

    assert isinstance(formatter, JsonFormatter) is json
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert formatter.format(record).endswith("INFO    hello") is not json
