"""The README's shell examples, run as written against a live `journeymap up`.

Every ```sh block of README.md (but those marked `<!-- readme-test: not run -->`) runs,
in order, in one bash session at the root of a folder laid out like the repository
(`.journeymap` is the data folder, `.venv` the installed journeymap), with
`127.0.0.1:8000` replaced by the port the service really listens on. A block directly
followed by a ```json block must answer that JSON, on the fields it shows.

Events are processed asynchronously, so a read-only block (a `curl` GET) is run again
until its answer matches, within a deadline; anything else runs exactly once.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.process import (
    clean_env,
    local_postgres_stopped_after,
    reaped,
    start_up,
    stop,
)
from tests.support.server import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_RUN = "<!-- readme-test: not run -->"
README_ADDRESS = "127.0.0.1:8000"

RUN_WITHIN = 30.0  # one run of one block
SETTLE_WITHIN = 60.0  # a read-only block until it answers as shown
SCRIPT_WITHIN = 150.0  # the whole README

_FENCE = re.compile(r"^```(\w*)\s*$")
_CURL = re.compile(r"^curl\s")
_SENDS = re.compile(r"\s(-X|--request|-d|--data[\w-]*|-F|--form|-T|--upload-file)(\s|=|$)")


@dataclass(frozen=True)
class Fenced:
    lang: str
    body: str
    start: int  # index of the opening fence line
    end: int  # index of the closing fence line
    marked_not_run: bool


@dataclass(frozen=True)
class Example:
    line: int  # 1-based README line of the opening fence
    script: str
    expected: str | None  # the JSON shown right after it, if any

    @property
    def title(self) -> str:
        first = next((line for line in self.script.splitlines() if line.strip()), "")
        return f"README.md:{self.line}: {first.strip()}"

    @property
    def read_only(self) -> bool:
        """A single `curl` that sends nothing: safe to run again."""
        return bool(_CURL.match(self.script.lstrip())) and not _SENDS.search(self.script)


def _fenced_blocks(lines: list[str]) -> Iterator[Fenced]:
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        close = index + 1
        while close < len(lines) and lines[close].rstrip() != "```":
            close += 1
        assert close < len(lines), f"README.md:{index + 1}: unclosed code block"
        marked = index > 0 and lines[index - 1].strip() == NOT_RUN
        yield Fenced(opening.group(1), "\n".join(lines[index + 1 : close]), index, close, marked)
        index = close + 1


def readme_examples(text: str) -> list[Example]:
    """The README's runnable sh blocks, in order, each with the JSON answer it shows."""
    lines = text.splitlines()
    blocks = list(_fenced_blocks(lines))
    examples = []
    for position, block in enumerate(blocks):
        if block.lang != "sh" or block.marked_not_run:
            continue
        expected = None
        if position + 1 < len(blocks):
            following = blocks[position + 1]
            between = lines[block.end + 1 : following.start]
            if following.lang == "json" and not any(line.strip() for line in between):
                expected = following.body
        examples.append(Example(block.start + 1, block.body, expected))
    return examples


def differences(expected: object, actual: object, where: str = "$") -> list[str]:
    """How `actual` differs from `expected` on the fields `expected` shows."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {json.dumps(actual)}"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            else:
                found.extend(differences(value, actual[key], f"{where}.{key}"))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {json.dumps(actual)}"]
        if len(expected) != len(actual):
            return [f"{where}: expected {len(expected)} items, got {len(actual)}"]
        return [
            difference
            for n, (want, got) in enumerate(zip(expected, actual, strict=True))
            for difference in differences(want, got, f"{where}[{n}]")
        ]
    if _same_scalar(expected, actual):
        return []
    return [f"{where}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]


def _same_scalar(expected: object, actual: object) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        return expected == actual  # 300 == 300.0
    return type(expected) is type(actual) and expected == actual


class Shell:
    """One bash process fed block by block on its stdin, so variables carry over."""

    def __init__(self, process: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.process = process
        self.stderr_path = stderr_path

    @classmethod
    async def start(cls, cwd: Path, stderr_path: Path) -> Shell:
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                "bash",
                "--noprofile",
                "--norc",
                cwd=cwd,
                env=clean_env(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        shell = cls(process, stderr_path)
        await shell.run("set -euo pipefail", "set -euo pipefail")
        return shell

    async def run(self, script: str, title: str) -> str:
        """Run `script` in the session; its standard output."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        marker = f"--- readme-test {uuid.uuid4().hex} ---"
        # The block runs as written, in the current shell; it may not read the session's
        # own input (the script), and its last line of output ends before the marker.
        self.process.stdin.write(f"{{\n{script}\n}} </dev/null\necho\necho '{marker}'\n".encode())
        await self.process.stdin.drain()
        output: list[str] = []
        while True:
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), RUN_WITHIN)
            except TimeoutError:
                pytest.fail(f"{title}\ndid not finish within {RUN_WITHIN} s{self._stderr()}")
            if not line:
                code = await self.process.wait()
                pytest.fail(f"{title}\nfailed: bash exited with {code}{self._stderr()}")
            text = line.decode().rstrip("\n")
            if text == marker:
                return "\n".join(output).strip()
            output.append(text)

    def _stderr(self) -> str:
        return f"\nits standard error (end):\n{self.stderr_path.read_text()[-3000:]}"

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def _mismatch(output: str, expected: object) -> list[str]:
    try:
        actual = json.loads(output)
    except ValueError:
        return ["the answer is not JSON"]
    return differences(expected, actual)


async def _check(shell: Shell, example: Example, script: str, expected_text: str) -> None:
    expected = json.loads(expected_text)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WITHIN
    while True:
        output = await shell.run(script, example.title)
        problems = _mismatch(output, expected)
        if not problems:
            return
        if not example.read_only or loop.time() > deadline:
            break
        await asyncio.sleep(0.5)
    waited = f" (asked again for {SETTLE_WITHIN:.0f} s)" if example.read_only else ""
    pytest.fail(
        f"{example.title}\nanswered otherwise than the README shows{waited}:\n"
        + "\n".join(problems)
        + f"\n--- README shows:\n{expected_text}\n--- the service answered:\n{output}"
    )


def test_the_readme_is_parsed_into_examples_with_their_answers() -> None:
    text = "\n".join(
        [
            "<!-- readme-test: not run -->",
            "```sh",
            "skipped",
            "```",
            "```sh",
            "curl -s http://127.0.0.1:8000/a",
            "```",
            "",
            "```json",
            '{"a": 1}',
            "```",
            "```sh",
            "curl -s -X POST http://127.0.0.1:8000/b",
            "```",
            "prose",
            "```json",
            "{}",
            "```",
        ]
    )

    examples = readme_examples(text)

    assert [(e.line, e.expected) for e in examples] == [(5, '{"a": 1}'), (12, None)]
    assert [e.read_only for e in examples] == [True, False]


def test_answers_match_on_the_fields_shown() -> None:
    actual = {"a": 300.0, "b": [{"c": True, "d": 1}], "e": None, "extra": 1}
    assert differences({"a": 300, "b": [{"c": True}], "e": None}, actual) == []
    assert differences({"b": [{"c": 1}]}, actual) == ["$.b[0].c: expected 1, got true"]
    assert differences({"b": []}, actual) == ["$.b: expected 0 items, got 1"]
    assert differences({"f": 1}, actual) == ["$.f: missing"]
    assert differences({"e": "x"}, actual) == ['$.e: expected "x", got null']


async def test_the_readme_examples_answer_as_shown(tmp_path: Path) -> None:
    assert shutil.which("curl"), "the README's examples use curl"
    examples = readme_examples(README.read_text())
    assert len(examples) >= 10
    assert sum(e.expected is not None for e in examples) >= 6

    workdir = tmp_path / "repository"
    workdir.mkdir()
    # `.venv/bin/journeymap` as the README writes it: the venv running these tests.
    (workdir / ".venv").symlink_to(Path(sys.executable).parent.parent.absolute())
    data_dir = workdir / ".journeymap"
    port = free_port()
    address = f"127.0.0.1:{port}"  # the only change made to the README's text
    ran = compared = 0
    with local_postgres_stopped_after(data_dir):
        async with reaped(await start_up(data_dir, port, env=clean_env())) as service:
            shell = await Shell.start(workdir, tmp_path / "readme-stderr.log")
            try:
                async with asyncio.timeout(SCRIPT_WITHIN):
                    for example in examples:
                        script = example.script.replace(README_ADDRESS, address)
                        if example.expected is None:
                            await shell.run(script, example.title)
                        else:
                            expected = example.expected.replace(README_ADDRESS, address)
                            await _check(shell, example, script, expected)
                            compared += 1
                        ran += 1
            except TimeoutError:
                pytest.fail(f"the README's examples took over {SCRIPT_WITHIN:.0f} s; {ran} ran")
            finally:
                await shell.close()
            assert await stop(service) == 0

    assert ran >= 10, f"only {ran} README blocks ran"
    assert compared >= 6, f"only {compared} README answers were compared"
