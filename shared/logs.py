"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pgserver narrates every command it runs; its warnings are what matters.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, root.level))
    # alembic announces each of its plugins at start-up.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, root.level))
