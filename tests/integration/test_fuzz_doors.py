"""Hypothesis throws structured junk at every field of the four ingest doors: no answer is
a 5xx, and every event a door acknowledged can be read back through the API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.embedded import WRITE_KEY, Running, running_embedded
from tests.support.maps import wait_until_consumed

JUNK: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["\x00", "", " ", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
IDS = st.text(alphabet="ab1/.-_ %?#é", max_size=5)
# Hypothesis takes naive bounds and adds the zone itself.
FIRST, LAST = datetime(1995, 1, 1), datetime(2027, 1, 1)  # noqa: DTZ001
TIMES = st.datetimes(FIRST, LAST, timezones=st.just(UTC)).map(datetime.isoformat)


@st.composite
def fields(
    draw: st.DrawFn,
    /,
    required: tuple[str, ...] = ("customer_id",),
    **strategies: st.SearchStrategy[Any],
) -> dict[str, Any]:
    """An item with the `required` fields valid and each other one left out or valid, then
    up to three fields made junk."""
    given = {name: s for name, s in strategies.items() if name in required}
    optional = {name: s for name, s in strategies.items() if name not in required}
    item = draw(st.fixed_dictionaries(given, optional=optional))
    for name in draw(st.sets(st.sampled_from(sorted(strategies)), max_size=3)):
        item[name] = draw(JUNK)
    return item


COMMON = {
    "customer_id": IDS,
    "anonymous_id": IDS,
    "product_id": IDS,
    "timestamp": TIMES,
    "sent_at": TIMES,
    "sentiment": st.floats(-1, 1),
    "csat": st.integers(1, 5),
    "properties": st.dictionaries(st.text(max_size=5), JUNK, max_size=3),
}
NATIVE = fields(
    ("customer_id", "type"),
    type=st.sampled_from(["page_view", "purchase", "add_to_cart", "Bad Type"]),
    channel=st.sampled_from(["web", "ads"]),
    nps=st.integers(0, 10),
    revenue=st.decimals("0", "1000", places=2).map(str),
    **COMMON,
)
SUPPORT = fields(
    ("customer_id", "kind"),
    kind=st.sampled_from(["ticket_opened", "chat", "call", "return", "fax"]),
    channel=st.sampled_from(["phone", "chat"]),
    ticket_id=IDS,
    agent=st.text(max_size=5),
    **COMMON,
)
SURVEY = fields(
    ("customer_id", "nps"),
    nps=st.integers(0, 10),
    comment=st.text(max_size=20),
    survey=st.text(max_size=5),
    **COMMON,
)
SEGMENT = fields(
    ("type", "userId"),
    type=st.sampled_from(["track", "identify", "page", "screen", "group", "alias", "nope"]),
    userId=IDS,
    anonymousId=IDS,
    previousId=IDS,
    event=st.sampled_from(["Product Viewed", "Order Completed", "Signed Up"]),
    properties=st.fixed_dictionaries(
        {}, optional={"product_id": IDS | JUNK, "revenue": JUNK, "products": JUNK}
    ),
    context=st.fixed_dictionaries({}, optional={"os": JUNK, "device": JUNK, "page": JUNK}),
    traits=JUNK,
    timestamp=TIMES,
    sentAt=TIMES,
)
# Each door: its path, its strategy, and the field that carries the event id.
DOORS = {
    "events": ("/v1/events", NATIVE, "event_id"),
    "support": ("/v1/support/interactions", SUPPORT, "interaction_id"),
    "surveys": ("/v1/surveys", SURVEY, "response_id"),
    "segment": ("/v1/batch", SEGMENT, "messageId"),
}
ACKNOWLEDGED = {200, 202, 207}
REFUSED = {400, 413, 415, 422}
numbers = itertools.count()


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database, rate_limit_per_second=1e9) as running:
        yield running


def acknowledged_ids(door: str, sent: list[dict[str, Any]], answer: httpx.Response) -> set[str]:
    """The ids of the events the door acknowledged, from its answer."""
    body = answer.json()
    if door != "segment":
        return set(body["event_ids"])
    refused = {r["index"] for r in body.get("rejected", [])}
    return {item["messageId"] for n, item in enumerate(sent) if n not in refused}


async def readable_back(service: Running, engine: AsyncEngine, event_id: str) -> bool:
    async with engine.connect() as conn:
        customer = await conn.scalar(
            text("SELECT customer_id FROM touchpoints WHERE event_id = :id"), {"id": event_id}
        )
    if customer is None:
        return False
    answer = await service.reader.get(
        f"/v1/customers/{quote(customer, safe='')}/touchpoints", params={"limit": 500}
    )
    assert answer.status_code == 200, (customer, answer.text)
    return event_id in {t["event_id"] for t in answer.json()["touchpoints"]}


def examples(strategy: st.SearchStrategy[dict[str, Any]], count: int) -> list[list[Any]]:
    """`count` batches drawn by Hypothesis, the same on every run.

    Drawn first and sent afterwards: the service runs in this test's event loop, which
    a synchronous Hypothesis test cannot await in.
    """
    drawn: list[list[Any]] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(strategy, min_size=1, max_size=4))
    def collect(items: list[Any]) -> None:
        drawn.append(items)

    collect()
    return drawn


@pytest.mark.parametrize("door", list(DOORS))
async def test_junk_at_a_door_is_refused_or_readable_back(
    service: Running, engine: AsyncEngine, door: str
) -> None:
    path, strategy, id_field = DOORS[door]
    auth = httpx.BasicAuth(WRITE_KEY, "") if door == "segment" else None
    headers = {} if auth else {"Authorization": f"Bearer {WRITE_KEY}"}
    acknowledged: dict[str, list[dict[str, Any]]] = {}
    statuses: set[int] = set()
    async with httpx.AsyncClient(
        base_url=service.base_url, auth=auth, headers=headers, timeout=30
    ) as client:
        for items in examples(strategy, 60):
            sent = [{**item, id_field: f"{door}-{next(numbers)}"} for item in items]
            answer = await client.post(path, json={"batch": sent})
            statuses.add(answer.status_code)
            assert answer.status_code in ACKNOWLEDGED | REFUSED, (answer.text, sent)
            if answer.status_code in ACKNOWLEDGED:
                acknowledged.update(dict.fromkeys(acknowledged_ids(door, sent, answer), sent))

    # The junk must reach both outcomes, or the test proves nothing.
    assert statuses & ACKNOWLEDGED
    assert statuses & REFUSED
    await wait_until_consumed(engine)
    for event_id, sent in acknowledged.items():
        assert await readable_back(service, engine, event_id), (event_id, sent)
