"""A PostgreSQL started for the embedded mode, under the data folder (pgserver)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote, urlsplit

from pgserver.postgres_server import get_server

logger = logging.getLogger(__name__)

DATABASE = "journeymap"


def start_local_postgres(data_dir: Path) -> str:
    """Start (or reuse) the local server and return the URL of its journeymap database.

    The server stops when the last process using it exits.
    """
    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    socket_dir = urlsplit(server.get_uri()).query.removeprefix("host=")
    logger.info("local PostgreSQL is running", extra={"pgdata": str(pgdata)})
    return f"postgresql://postgres@/{DATABASE}?host={quote(socket_dir, safe='/')}"
