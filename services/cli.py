"""The `journeymap` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.aggregator.runner import FatalHandler
from shared.config import CONFIG_FILE_VARIABLE, ConfigError, Settings, load_settings
from shared.gc_tuning import tune_for_batches
from shared.logs import LogFormat, configure_logging
from shared.web.server import server_config

if TYPE_CHECKING:
    from shared.log.kafka_connection import KafkaConnection

logger = logging.getLogger(__name__)

host_option = click.option("--host", help="Interface to listen on [127.0.0.1]")
port_option = click.option("--port", type=int, help="Port to listen on [8000]")
data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data folder [./.journeymap]"
)


def _settings(**overrides: Any) -> Settings:
    """File and environment settings, with the command-line options given on top.

    A bad configuration stops the command with every offending key and the reason.
    """
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        settings = load_settings()
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    return settings.model_copy(update=given) if given else settings


def _with_database(settings: Settings) -> Settings:
    """Settings with a database URL: the configured one, else a local server's."""
    if settings.database_url is not None:
        return settings
    from shared.db.local_server import start_local_postgres

    return settings.model_copy(update={"database_url": start_local_postgres(settings.data_dir)})


def _prepared(settings: Settings) -> Settings:
    """Settings for a service process: a database, migrated."""
    from shared.db.migrate import migrate

    settings = _with_database(settings)
    assert settings.database_url is not None
    migrate(settings.database_url)
    return settings


def _listen(settings: Settings) -> socket.socket:
    """The service's socket, bound now: a busy port stops the command before it starts
    anything (the database, migrations) or prints anything."""
    host, port = settings.host, settings.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {error.strerror or error}; stop what uses "
            "that port, or choose another with --port"
        ) from error
    return listener


def _service(**overrides: Any) -> tuple[Settings, socket.socket]:
    """A service process's settings and socket: the port first, then the database."""
    settings = _settings(**overrides)
    listener = _listen(settings)
    return _prepared(settings), listener


def _serve(
    build: Callable[[FatalHandler], FastAPI], settings: Settings, listener: socket.socket
) -> None:
    """Serve the app on `listener` until SIGINT or SIGTERM; exit 1 if a background part
    died."""
    failures: list[BaseException] = []
    servers: list[uvicorn.Server] = []

    def on_fatal(error: BaseException) -> None:
        failures.append(error)
        for server in servers:
            server.should_exit = True

    config = server_config(
        build(on_fatal),
        host=settings.host,
        port=settings.port,
        limits=settings.http,
        loop="uvloop",
        log_config=None,
        access_log=False,
    )
    servers.append(uvicorn.Server(config))
    tune_for_batches()
    # uvicorn shuts down gracefully on SIGINT or SIGTERM, then re-raises the signal.
    # Turning both into KeyboardInterrupt makes a clean stop exit 0, with atexit hooks
    # (which stop the local PostgreSQL) run.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        servers[0].run(sockets=[listener])
    if failures:
        sys.exit(1)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="Logging level.")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "text", "json"]),
    default="auto",
    show_default=True,
    envvar="JOURNEYMAP_LOG_FORMAT",
    help="Log lines: text on a terminal, else json (auto) [$JOURNEYMAP_LOG_FORMAT]",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    envvar=CONFIG_FILE_VARIABLE,
    help=f"TOML configuration file [${CONFIG_FILE_VARIABLE}]",
)
def main(log_level: str, log_format: LogFormat, config: Path | None) -> None:
    """journeymap: live customer journey maps, experience maps and friction alerts."""
    configure_logging(log_level.upper(), log_format)
    if config is not None:
        # Settings are read from the environment in each command (and its children).
        os.environ[CONFIG_FILE_VARIABLE] = str(config)


@main.command()
@data_dir_option
def migrate(data_dir: Path | None) -> None:
    """Apply the database schema migrations."""
    _prepared(_settings(data_dir=data_dir))
    click.echo("database schema is up to date")


@main.command("rebuild-maps")
@data_dir_option
@click.option(
    "--force", is_flag=True, help="Run even while aggregators run (their maps get overwritten)."
)
def rebuild_maps_command(data_dir: Path | None, force: bool) -> None:
    """Recompute every map and figure from the stored touchpoints (aggregators stopped).

    Needed after upgrading to journey instances, or after changing the stage model
    or the inactivity window. Refuses to run while an aggregator runs, and names it.
    """
    from services.aggregator.bootstrap import batch_policy
    from services.aggregator.rebuild import RebuildReport, rebuild_maps
    from shared.db.presence import AggregatorsRunning, without_aggregators

    settings = _prepared(_settings(data_dir=data_dir))
    tune_for_batches()

    async def rebuild(engine: AsyncEngine) -> RebuildReport:
        async with without_aggregators(engine, force=force):
            return await rebuild_maps(
                engine,
                batch_policy(settings),
                group_id=settings.consumer_group,
                event_time_floor=datetime.now(UTC) - settings.rules.allowed_lateness,
            )

    try:
        report = _with_engine(settings, rebuild)
    except AggregatorsRunning as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"rebuilt {report.journeys} journeys of {report.customers} customers "
        f"from {report.touchpoints} touchpoints"
    )


@main.command()
@host_option
@port_option
@data_dir_option
def up(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run ingest, aggregator and query API in one process (the embedded default)."""
    from services.embedded import create_embedded_app
    from services.keys import local_keys

    settings, listener = _service(host=host, port=port, data_dir=data_dir)
    keys = _with_engine(settings, lambda engine: local_keys(settings, engine))
    _print_banner(settings, keys, show_keys=sys.stdout.isatty())
    _serve(lambda on_fatal: create_embedded_app(settings, on_fatal=on_fatal), settings, listener)


@main.command()
@host_option
@port_option
@data_dir_option
def ingest(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run the ingest API alone (distributed mode)."""
    from services.ingest.bootstrap import create_ingest_app

    settings, listener = _service(host=host, port=port, data_dir=data_dir)
    _serve(lambda _: create_ingest_app(settings), settings, listener)


@main.command()
@host_option
@port_option
@data_dir_option
def aggregator(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run one aggregator (distributed mode); it serves /healthz, /readyz and /metrics."""
    from services.aggregator.bootstrap import create_aggregator_app

    settings, listener = _service(host=host, port=port, data_dir=data_dir)
    _serve(lambda on_fatal: create_aggregator_app(settings, on_fatal=on_fatal), settings, listener)


@main.command()
@host_option
@port_option
@data_dir_option
def api(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run the query API alone (distributed mode)."""
    from services.api.bootstrap import create_api_app

    settings, listener = _service(host=host, port=port, data_dir=data_dir)
    _serve(lambda _: create_api_app(settings), settings, listener)


@main.group()
def keys() -> None:
    """Manage API keys (stored hashed; a key is shown once, when created)."""


@keys.command("create")
@click.option("--name", required=True, help="A unique name, e.g. the site or system.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["write", "read", "alerts"]),
    help="What the key may do; repeat for several.",
)
@click.option("--origin", "origins", multiple=True, help="Browser origin allowed (CORS).")
@click.option("--rate", type=float, help="Events per second for this key (token bucket).")
@click.option("--burst", type=int, help="Events the bucket holds.")
@data_dir_option
def create_key_command(
    name: str,
    scopes: tuple[str, ...],
    origins: tuple[str, ...],
    rate: float | None,
    burst: int | None,
    data_dir: Path | None,
) -> None:
    """Create a key and print it."""
    from shared.db.key_store import KeyExists, create_key

    settings = _prepared(_settings(data_dir=data_dir))
    try:
        key = _with_engine(
            settings,
            lambda engine: create_key(
                engine,
                name,
                list(scopes),
                allowed_origins=origins,
                rate_per_second=rate,
                burst=burst,
            ),
        )
    except KeyExists as error:
        raise click.ClickException(str(error)) from error
    click.echo(key)


@keys.command("list")
@data_dir_option
def list_keys_command(data_dir: Path | None) -> None:
    """List keys (never the keys themselves)."""
    from shared.db.key_store import list_keys

    settings = _prepared(_settings(data_dir=data_dir))
    for key in _with_engine(settings, list_keys):
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        limit = f" rate={key.rate_per_second}/s burst={key.burst}" if key.rate_per_second else ""
        origins = f" origins={','.join(key.allowed_origins)}" if key.allowed_origins else ""
        click.echo(f"{key.name}\t{key.prefix}...\t{','.join(key.scopes)}\t{state}{limit}{origins}")


@keys.command("revoke")
@click.argument("name")
@data_dir_option
def revoke_key_command(name: str, data_dir: Path | None) -> None:
    """Revoke a key; running services refuse it within seconds."""
    from shared.db.key_store import revoke_key

    settings = _prepared(_settings(data_dir=data_dir))
    if not _with_engine(settings, lambda engine: revoke_key(engine, name)):
        raise click.ClickException(f"no active key named {name!r}")
    click.echo(f"revoked {name}")


T = TypeVar("T")


@main.group()
def offsets() -> None:
    """The aggregators' stored offsets against the Kafka log (distributed mode)."""


def _kafka_settings(data_dir: Path | None) -> Settings:
    settings = _prepared(_settings(data_dir=data_dir))
    if settings.log != "kafka":
        raise click.ClickException(
            "the embedded log keeps its offsets with the maps, in one database: "
            "there is nothing to check or reset (set JOURNEYMAP_LOG=kafka for Kafka)"
        )
    return settings


def _from_kafka(settings: Settings, ask: Callable[[KafkaConnection], Coroutine[Any, Any, T]]) -> T:
    """Ask the brokers once, from the command line."""
    from aiokafka.errors import KafkaError

    from shared.log.kafka_connection import kafka_connection

    connection = kafka_connection(settings)
    try:
        return asyncio.run(ask(connection))
    except (KafkaError, LookupError) as error:
        raise click.ClickException(
            f"cannot read the log at {connection.describe()}: {error}"
        ) from error


def _log_bounds(settings: Settings) -> dict[int, tuple[int, int]]:
    from shared.log.kafka_bounds import log_bounds

    return _from_kafka(settings, lambda connection: log_bounds(connection, settings.kafka_topic))


def _digests_at(settings: Settings, offsets: dict[int, int]) -> dict[int, bytes | None]:
    """The digest of the record at each partition's offset, None where the log has none."""
    from aiokafka import TopicPartition

    from shared.log.kafka_bounds import record_digests

    wanted = {TopicPartition(settings.kafka_topic, p): offset for p, offset in offsets.items()}
    found = _from_kafka(settings, lambda connection: record_digests(connection, wanted))
    return {tp.partition: digest for tp, digest in found.items()}


@offsets.command("show")
@data_dir_option
def show_offsets_command(data_dir: Path | None) -> None:
    """Each partition: the offset the maps hold, the log's bounds, and whether they fit."""
    from shared.db.offsets import NO_OFFSET, stored_positions
    from shared.log.offset_check import StoredPosition, position_gap, record_to_check

    settings = _kafka_settings(data_dir)
    topic, group = settings.kafka_topic, settings.consumer_group
    bounds = _log_bounds(settings)
    stored = _with_engine(settings, lambda engine: stored_positions(engine, group, topic))
    positions = {p: stored.get(p, StoredPosition(NO_OFFSET, None)) for p in bounds}
    held = _digests_at(
        settings,
        {p: at.offset for p, at in positions.items() if record_to_check(at, *bounds[p])},
    )
    click.echo(f"topic {topic}, group {group}")
    click.echo("partition\tstored\tlog start\tlog end\tstate")
    for partition, (start, end) in sorted(bounds.items()):
        at = positions[partition]
        gap = position_gap(at, start, end, held.get(partition))
        state = "ok" if gap is None else f"STOPPED: {gap.reason}"
        click.echo(f"{partition}\t{at.offset}\t{start}\t{end}\t{state}")


@offsets.command("reset")
@click.option("--partition", type=int, required=True, help="The partition to reset.")
@click.option(
    "--to",
    "to",
    type=click.Choice(["earliest", "latest"]),
    required=True,
    help="earliest: read everything the log holds now; latest: skip all of it.",
)
@data_dir_option
def reset_offsets_command(partition: int, to: str, data_dir: Path | None) -> None:
    """Store where the maps go on in a partition; a stopped aggregator resumes from it."""
    from shared.db.offsets import store_position
    from shared.log.offset_check import StoredPosition

    settings = _kafka_settings(data_dir)
    topic, group = settings.kafka_topic, settings.consumer_group
    bounds = _log_bounds(settings)
    if partition not in bounds:
        raise click.ClickException(f"{topic} has no partition {partition}: {sorted(bounds)}")
    start, end = bounds[partition]
    last = start - 1 if to == "earliest" else end - 1
    # Skipping to the latest record keeps its digest, so a log recreated before the
    # next batch is still noticed; before the first record there is nothing to keep.
    digest = _digests_at(settings, {partition: last})[partition] if last >= start else None
    if last >= start and digest is None:
        raise click.ClickException(
            f"the log says it ends at {end} but holds no record at offset {last}: "
            "nothing stored; run `journeymap offsets show` and try again"
        )
    position = StoredPosition(last, digest)
    _with_engine(settings, lambda engine: store_position(engine, group, topic, partition, position))
    skipped = "nothing skipped" if to == "earliest" else f"offsets up to {last} skipped"
    click.echo(
        f"partition {partition} of {topic}: the maps go on after offset {last} "
        f"(log {start} to {end}; {skipped})"
    )


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` against the database once, from the command line."""
    from shared.db.engine import create_engine

    async def run() -> T:
        engine = create_engine(settings.async_database_url, pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _print_banner(settings: Settings, keys: dict[str, str], *, show_keys: bool) -> None:
    """Where things are. Generated keys are shown on a terminal only, never to a log."""
    from services.keys import KEY_FILE

    base = f"http://{settings.host}:{settings.port}"
    key_file = (settings.data_dir / KEY_FILE).resolve()
    if show_keys:
        key_lines = [f"  {role + ' key':<10} {key}" for role, key in keys.items()]
    else:
        key_lines = [f"  keys       {', '.join(keys)} in {key_file}"] if keys else []
    configured = [role for role in ("write", "read", "alerts") if role not in keys]
    if configured:
        key_lines.append(f"  keys       {', '.join(configured)} from the environment")
    click.echo(
        "\n".join(
            [
                "journeymap is starting",
                f"  console    {base}/  (sign in with the read key, or the alerts key to act)",
                f"  ingest     POST {base}/v1/events  (Segment-compatible: {base}/v1/batch)",
                f"  maps       GET  {base}/v1/customers/{{customer_id}}/journeys",
                f"  alerts          {base}/v1/alerts",
                f"  api docs        {base}/docs",
                f"  metrics         {base}/metrics",
                *key_lines,
                f"  data       {settings.data_dir.resolve()}",
                "Press Ctrl-C to stop.",
            ]
        ),
    )
