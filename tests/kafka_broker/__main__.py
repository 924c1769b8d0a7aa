"""Run the test broker as a separate process.

    python -m tests.kafka_broker [--host H] [--port P] [--partitions N]

Prints exactly one line ``LISTENING HOST:PORT`` (flushed) once ready, then
reads control commands from stdin, one per line, answering each with ``OK`` or
``ERR <reason>``:

    refuse          stop listening and drop every connection
    accept          listen again on the same port
    delay <seconds> delay every response (0 = none)
    drop            abruptly close every open connection
    quit            stop and exit 0

EOF on stdin, SIGTERM or SIGINT stop the broker cleanly (exit status 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading

from .server import KafkaTestBroker

_EOF = None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.kafka_broker")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--partitions", type=int, default=1, help="default partitions")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def _start_stdin_reader(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Feed stdin lines into ``lines`` from a daemon thread (None at EOF).

    Reads the raw file descriptor: a daemon thread blocked inside sys.stdin's
    buffered reader can abort interpreter shutdown.
    """

    def deliver(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(lines.put_nowait, item)

    def run() -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(sys.stdin.fileno(), 4096)
            except OSError:
                chunk = b""
            if not chunk:
                if pending:
                    deliver(pending.decode(errors="replace"))
                deliver(_EOF)
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                deliver(line.decode(errors="replace"))

    threading.Thread(target=run, name="stdin-commands", daemon=True).start()


def _reply(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _execute(broker: KafkaTestBroker, command: str) -> str:
    verb, _, argument = command.partition(" ")
    argument = argument.strip()
    if verb == "refuse":
        broker.refuse_connections(True)
    elif verb == "accept":
        broker.refuse_connections(False)
    elif verb == "drop":
        broker.drop_connections()
    elif verb == "delay":
        try:
            seconds = float(argument)
        except ValueError:
            return f"ERR delay needs a number of seconds, got {argument!r}"
        if seconds < 0:
            return "ERR delay cannot be negative"
        broker.set_response_delay(seconds)
    else:
        return f"ERR unknown command {verb!r}"
    return "OK"


async def _serve(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    broker = KafkaTestBroker(host=args.host, port=args.port, default_partitions=args.partitions)
    await broker.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    _start_stdin_reader(loop, lines)
    _reply(f"LISTENING {broker.bootstrap}")
    stop_task = asyncio.create_task(stop.wait())
    try:
        while True:
            line_task = asyncio.create_task(lines.get())
            await asyncio.wait({line_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            if not line_task.done():
                line_task.cancel()
                break
            command = line_task.result()
            if command is _EOF:
                break
            command = command.strip()
            if not command:
                continue
            if command == "quit":
                _reply("OK")
                break
            try:
                _reply(_execute(broker, command))
            except Exception as exc:
                _reply(f"ERR {exc}")
    finally:
        stop_task.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await broker.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
