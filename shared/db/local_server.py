"""A PostgreSQL started for the embedded mode, under the data folder (pgserver)."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psutil

logger = logging.getLogger(__name__)

DATABASE = "journeymap"
# pgserver's list of the processes using a server (its file in the data folder).
HANDLE_LIST = ".handle_pids.json"


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
        from pgserver.postgres_server import PostgresServer, get_server

        with PostgresServer._lock:
            _forget_dead_users(pgdata)
        return get_server(pgdata, cleanup_mode="stop")


def _forget_dead_users(pgdata: Path) -> None:
    """Drop the processes that died without saying so from pgserver's list of users.

    pgserver stops the server when its last user exits, by that list. A user killed
    (SIGKILL, a crash) stays on it, so the server outlived everyone: the next start
    adopts that server, and its clean stop stops it.
    """
    users = pgdata / HANDLE_LIST
    if not users.exists():
        return
    listed: list[int] = json.loads(users.read_text() or "[]")
    alive = [pid for pid in listed if _running(pid)]
    if alive != listed:
        logger.info(
            "adopting the local PostgreSQL left running by a process that died",
            extra={"pgdata": str(pgdata), "dead": sorted(set(listed) - set(alive))},
        )
        users.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
