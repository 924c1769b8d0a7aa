"""Logs on stderr: lines for people on a terminal, one JSON object per line otherwise.

`auto` (the default) picks by whether stderr is a terminal, so a service manager or a
log shipper gets JSON and a person running `journeymap up` gets readable lines.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["auto", "text", "json"]


def _formatter(log_format: LogFormat) -> logging.Formatter:
    if log_format == "auto":
        log_format = "text" if sys.stderr.isatty() else "json"
    if log_format == "text":
        return logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def configure_logging(level: str = "INFO", log_format: LogFormat = "auto") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pgserver narrates every command it runs; its warnings are what matters.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, root.level))
    # alembic announces each of its plugins at start-up.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, root.level))
