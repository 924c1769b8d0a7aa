from __future__ import annotations

import pytest

from shared.domain.stages import DEFAULT_CATALOGUE, StageCatalogue


@pytest.mark.parametrize(
    ("event_type", "stage"),
    [
        ("ad_impression", "awareness"),
        ("word_of_mouth", "awareness"),
        ("compare", "consideration"),
        ("purchase", "decision"),
        ("return_requested", "service"),
        ("blog_subscribed", "loyalty"),
        ("survey_response", None),
        ("payment_failed", None),
        ("never_heard_of_it", None),
    ],
)
def test_default_catalogue(event_type: str, stage: str | None) -> None:
    assert DEFAULT_CATALOGUE.stage_of(event_type) == stage


def test_stages_are_ordered() -> None:
    ranks = [DEFAULT_CATALOGUE.rank(stage) for stage in DEFAULT_CATALOGUE.stages]

    assert ranks == sorted(ranks)
    assert DEFAULT_CATALOGUE.rank("awareness") < DEFAULT_CATALOGUE.rank("loyalty")


def test_a_type_in_two_stages_is_refused() -> None:
    with pytest.raises(ValueError, match="'click' is in both"):
        StageCatalogue(stages=("a", "b"), stage_types={"a": ("click",), "b": ("click",)})


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="not in stages"):
        StageCatalogue(stages=("a",), stage_types={"zzz": ("click",)})
