"""The deployment files name only settings and commands that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli import main
from shared.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {f"JOURNEYMAP_{name.upper()}" for name in Settings.model_fields}


def _documents() -> list[tuple[str, Any]]:
    documents: list[tuple[str, Any]] = [
        ("compose.yaml", yaml.safe_load((DEPLOY / "compose.yaml").read_text()))
    ]
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text())]
    return documents


def _walk(node: Any) -> list[tuple[str, Any]]:
    """Every (key, value) pair in a parsed YAML document."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            pairs.append((str(key), value))
            pairs += _walk(value)
    elif isinstance(node, list):
        for item in node:
            pairs += _walk(item)
    return pairs


@pytest.mark.parametrize("file", ["compose.yaml", "journeymap.yaml"])
def test_only_real_settings_are_configured(file: str) -> None:
    named = {
        key
        for name, document in _documents()
        if name == file
        for key, _ in _walk(document)
        if key.startswith("JOURNEYMAP_")
    }

    assert "JOURNEYMAP_KAFKA_BOOTSTRAP" in named
    assert named <= SETTINGS, f"{file} names unknown settings: {named - SETTINGS}"


@pytest.mark.parametrize(("name", "document"), _documents())
def test_only_real_commands_are_run(name: str, document: Any) -> None:
    commands = {
        value[0]
        for key, value in _walk(document)
        if key in ("command", "args") and isinstance(value, list) and value
    }

    assert commands <= set(main.commands), f"{name} runs unknown commands"


def test_the_image_configures_only_real_settings() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    assert set(re.findall(r"JOURNEYMAP_[A-Z_]+", dockerfile)) <= SETTINGS
