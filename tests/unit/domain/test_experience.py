from __future__ import annotations

import pytest

from shared.domain import experience
from shared.domain.experience import NpsCategory, nps_category
from shared.domain.stages import DEFAULT_CATALOGUE
from tests.support.touchpoints import touch


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, NpsCategory.DETRACTOR),
        (6, NpsCategory.DETRACTOR),
        (7, NpsCategory.PASSIVE),
        (8, NpsCategory.PASSIVE),
        (9, NpsCategory.PROMOTER),
        (10, NpsCategory.PROMOTER),
    ],
)
def test_nps_categories(score: int, category: NpsCategory) -> None:
    assert nps_category(score) is category


def test_experience_summarises_every_touchpoint() -> None:
    touchpoints = [
        touch("ad_click", 0, channel="ads", product="bike"),
        touch("product_view", 1, product="bike"),
        touch("purchase", 2, product="bike", revenue="499.99"),
        touch("newsletter_subscribed", 3, channel="email", product=None),
        touch("call", 4, channel="phone", product=None, sentiment=-0.5),
        touch("chat_started", 5, channel="chat", product="helmet", sentiment=0.25),
        touch("survey_response", 6, channel="email", product=None, nps=9, csat=5),
        touch("survey_response", 7, channel="email", product=None, nps=4, csat=2),
        touch("payment_failed", 8, product="helmet"),
    ]

    state = experience.build("c1", touchpoints, DEFAULT_CATALOGUE)

    assert state.touchpoint_count == 9
    assert state.channels == {"ads": 1, "web": 3, "email": 3, "phone": 1, "chat": 1}
    assert state.products == {"bike": 3, "helmet": 2}
    assert (state.sentiment_micros, state.sentiment_count) == (-250_000, 2)
    assert state.average_sentiment == pytest.approx(-0.125)
    assert state.nps is not None
    assert state.nps.value == 4
    assert state.nps_category is NpsCategory.DETRACTOR
    assert state.nps_responses == 2
    assert state.average_csat == 3.5
    assert state.support_contacts == 2
    assert state.error_touchpoints == 1
    assert str(state.revenue) == "499.99"
    assert state.first_seen == touchpoints[0].occurred_at
    assert state.last_seen == touchpoints[-1].occurred_at


def test_latest_nps_is_by_event_time_not_arrival() -> None:
    later = touch("survey_response", 10, nps=10)
    earlier = touch("survey_response", 1, nps=2)

    state = experience.build("c1", [later, earlier], DEFAULT_CATALOGUE)

    assert state.nps is not None
    assert state.nps.value == 10
    assert state.nps_category is NpsCategory.PROMOTER


def test_empty_experience_has_no_scores() -> None:
    state = experience.build("c1", [], DEFAULT_CATALOGUE)

    assert state.nps_category is None
    assert state.average_csat is None
    assert state.average_sentiment is None
