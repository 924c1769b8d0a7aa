"""The `journeymap` command."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click
import uvicorn

from shared.config import Settings
from shared.logs import configure_logging

logger = logging.getLogger(__name__)


def _settings(**overrides: Any) -> Settings:
    """Environment settings, with the command-line options that were given on top."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return Settings().model_copy(update=given) if given else Settings()


def _with_database(settings: Settings) -> Settings:
    """Settings with a database URL: the configured one, or a local server's."""
    if settings.database_url is not None:
        return settings
    from shared.db.local_server import start_local_postgres

    return settings.model_copy(update={"database_url": start_local_postgres(settings.data_dir)})


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="Logging level.")
def main(log_level: str) -> None:
    """journeymap: live customer journey maps, experience maps and friction alerts."""
    configure_logging(log_level.upper())


@main.command()
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder [./.journeymap]")
def migrate(data_dir: Path | None) -> None:
    """Apply the database schema migrations."""
    from shared.db.migrate import migrate as apply_migrations

    settings = _with_database(_settings(data_dir=data_dir))
    assert settings.database_url is not None
    apply_migrations(settings.database_url)
    click.echo("database schema is up to date")


@main.command()
@click.option("--host", help="Interface to listen on [127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on [8000]")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder [./.journeymap]")
def up(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run ingest, aggregator and query API in one process (the embedded default)."""
    from services.embedded import create_embedded_app
    from services.keys import embedded_keys
    from shared.db.migrate import migrate as apply_migrations

    settings = _with_database(_settings(host=host, port=port, data_dir=data_dir))
    assert settings.database_url is not None
    apply_migrations(settings.database_url)
    keys = embedded_keys(settings)
    failures: list[BaseException] = []
    server_holder: list[uvicorn.Server] = []

    def on_fatal(error: BaseException) -> None:
        failures.append(error)
        for server in server_holder:
            server.should_exit = True

    app = create_embedded_app(settings, keys=keys.store(), on_fatal=on_fatal)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    server_holder.append(server)
    _print_banner(settings, keys.write, keys.read)
    # uvicorn shuts down gracefully on SIGINT or SIGTERM, then re-raises the signal.
    # Turning both into KeyboardInterrupt makes a clean stop exit 0, with atexit hooks
    # (which stop the local PostgreSQL) run.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if failures:
        sys.exit(1)


def _print_banner(settings: Settings, write_key: str, read_key: str) -> None:
    base = f"http://{settings.host}:{settings.port}"
    click.echo(
        "\n".join(
            [
                "journeymap is starting",
                f"  ingest     POST {base}/v1/events",
                f"  maps       GET  {base}/v1/customers/{{customer_id}}/journeys",
                f"  api docs        {base}/docs",
                f"  metrics         {base}/metrics",
                f"  write key  {write_key}",
                f"  read key   {read_key}",
                f"  data       {settings.data_dir.resolve()}",
                "Press Ctrl-C to stop.",
            ]
        ),
    )
