"""The configuration file: a bad one stops start-up naming the key; a good one is used."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from shared.config import ConfigError, load_settings
from tests.support.process import clean_env, run_cli

GOOD = """
inactivity_window = "PT2H"

[stage_model]
stages = ["discover", "buy", "love"]
conversion_type = "purchase"
repeat_conversion_type = "repeat_purchase"
error_types = ["page_error"]
support_contact_types = ["chat_started"]
click_through = {}

[stage_model.types]
discover = ["ad_click", "page_view"]
buy = ["purchase"]
love = ["repeat_purchase", "review_posted"]

[rules]
checkout_abandon_after = "PT10M"
"""

BAD = """
inactivity_window = "two hours"

[rules]
checkout_abandon_afterr = "PT10M"
"""


def test_a_bad_file_stops_start_up_naming_each_key(tmp_path: Path) -> None:
    config = tmp_path / "journeymap.toml"
    config.write_text(BAD)

    result = run_cli("--config", str(config), "up", "--data-dir", str(tmp_path / "data"))

    assert result.returncode == 1
    assert f"bad configuration in {config}" in result.stderr
    assert "inactivity_window: Input should be a valid timedelta" in result.stderr
    assert "rules.checkout_abandon_afterr: Unexpected keyword argument" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_a_missing_or_broken_file_is_refused(tmp_path: Path) -> None:
    missing = run_cli("--config", str(tmp_path / "nope.toml"), "migrate")
    broken = tmp_path / "broken.toml"
    broken.write_text("inactivity_window = [\n")
    invalid = run_cli("migrate", env=clean_env(JOURNEYMAP_CONFIG=str(broken)))

    assert missing.returncode == 1
    assert "nope.toml does not exist" in missing.stderr
    assert invalid.returncode == 1
    assert "is not valid TOML" in invalid.stderr


def test_the_file_sets_the_stage_model_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "journeymap.toml"
    config.write_text(GOOD)
    monkeypatch.setenv("JOURNEYMAP_CONFIG", str(config))
    monkeypatch.setenv("JOURNEYMAP_RULES__CHECKOUT_ABANDON_AFTER", "PT45M")

    settings = load_settings()

    assert settings.stage_model.catalogue().stage_of("page_view") == "discover"
    assert settings.inactivity_window == timedelta(hours=2)
    assert settings.rules.checkout_abandon_after == timedelta(minutes=45)


def test_a_stage_model_naming_unknown_stages_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "journeymap.toml"
    config.write_text(GOOD.replace('stages = ["discover", "buy", "love"]', 'stages = ["buy"]'))
    monkeypatch.setenv("JOURNEYMAP_CONFIG", str(config))

    with pytest.raises(ConfigError, match=r"stage_model: .*not in stages"):
        load_settings()


async def test_maps_are_rebuilt_under_a_new_stage_model(
    tmp_path: Path, clean_database: str
) -> None:
    config = tmp_path / "journeymap.toml"
    config.write_text(GOOD)
    env = clean_env(JOURNEYMAP_DATABASE_URL=clean_database, JOURNEYMAP_CONFIG=str(config))

    result = await asyncio.to_thread(run_cli, "rebuild-maps", env=env)

    assert result.returncode == 0, result.stderr
    assert "rebuilt 0 journeys of 0 customers from 0 touchpoints" in result.stdout
