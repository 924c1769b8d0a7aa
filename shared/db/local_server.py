"""A PostgreSQL started for the embedded mode, under the data folder (pgserver)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

logger = logging.getLogger(__name__)

DATABASE = "journeymap"


def start_local_postgres(data_dir: Path) -> str:
    """Start (or reuse) the local server and return the URL of its journeymap database.

    The server stops when the last process using it exits.
    """
    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _get_server(pgdata)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    socket_dir = urlsplit(server.get_uri()).query.removeprefix("host=")
    logger.info("local PostgreSQL is running", extra={"pgdata": str(pgdata)})
    return f"postgresql://postgres@/{DATABASE}?host={quote(socket_dir, safe='/')}"


def stop_local_postgres(data_dir: Path) -> None:
    """Stop this process's local server of the data folder now, not at exit."""
    _get_server((data_dir / "postgres").resolve()).cleanup()


def _get_server(pgdata: Path) -> Any:
    # pgserver warns on import when XDG_RUNTIME_DIR is unset (as under root or in CI)
    # and falls back to /tmp, which is what we want.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from pgserver.postgres_server import get_server

        return get_server(pgdata, cleanup_mode="stop")
