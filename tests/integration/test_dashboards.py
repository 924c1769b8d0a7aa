"""Funnel, touchpoint and hotspot figures over HTTP, against an independent count.

A generated population of customers (abandoned journeys, skipped stages, repeat
purchases, new journey instances, late events) is posted to the embedded service.
The test works the true figures out with its own small model of the rules, written
from the documented definitions, not with the service's code.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.embedded import Running, running_embedded
from tests.support.polling import eventually

WINDOW = timedelta(days=1)
LATENESS = timedelta(minutes=5)  # the default allowed lateness of timers
NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=5)  # journeys this old are over by now
STAGES = ["awareness", "consideration", "decision", "service", "loyalty"]
STAGE_OF = {
    "ad_impression": 0,
    "ad_click": 0,
    "product_view": 1,
    "email_open": 1,
    "email_click": 1,
    "add_to_cart": 2,
    "checkout_started": 2,
    "purchase": 2,
    "chat_started": 3,
    "repeat_purchase": 4,
    "review_posted": 4,
}

# Journey templates: (type, channel choices, minutes after the previous step).
TEMPLATES: dict[str, list[tuple[str, list[str], float]]] = {
    "abandons browsing": [
        ("ad_impression", ["ads", "social"], 0),
        ("ad_click", ["ads", "social"], 2),
        ("product_view", ["web", "app"], 3),
        ("product_view", ["web"], 4),
    ],
    "skips consideration": [
        ("ad_click", ["ads"], 0),
        ("add_to_cart", ["web"], 10),
        ("purchase", ["web", "app"], 30),
    ],
    "buys again": [
        ("email_open", ["email"], 0),
        ("email_click", ["email"], 1),
        ("purchase", ["web"], 60),
        ("chat_started", ["support"], 90),
        ("purchase", ["web"], 120),
        ("review_posted", ["web"], 30),
    ],
    "abandons checkout": [
        ("product_view", ["web"], 0),
        ("add_to_cart", ["web"], 5),
        ("checkout_started", ["web"], 5),
    ],
    "still browsing": [
        ("ad_impression", ["ads"], 0),
        ("email_open", ["email"], 30),
    ],
}


@dataclass
class Step:
    event_id: str
    type: str
    channel: str
    at: datetime
    sentiment: float | None = None
    nps: int | None = None
    csat: int | None = None


@dataclass
class Customer:
    customer_id: str
    product_id: str
    steps: list[Step] = field(default_factory=list)


def population(seed: int = 11, customers: int = 60) -> list[Customer]:
    rng = random.Random(seed)
    people: list[Customer] = []
    for c in range(customers):
        customer = Customer(f"cust-{c:03d}", rng.choice(["p1", "p1", "p1", "p2"]))
        # A recent journey can only be the last one.
        names = sorted(
            rng.sample(sorted(TEMPLATES), k=rng.choice([1, 1, 2])),
            key=lambda name: name == "still browsing",
        )
        # A second journey follows the first after more than the inactivity window.
        start = OLD + timedelta(minutes=rng.randint(0, 600))
        for j, name in enumerate(names):
            if name == "still browsing" or (j == 1 and rng.random() < 0.5):
                start = max(start, NOW - timedelta(hours=rng.randint(2, 6)))
            at = start
            for n, (event_type, channels, gap) in enumerate(TEMPLATES[name]):
                at += timedelta(minutes=gap * rng.uniform(0.5, 1.5))
                customer.steps.append(
                    Step(
                        event_id=f"{customer.customer_id}-{j}-{n}",
                        type=event_type,
                        channel=rng.choice(channels),
                        at=at,
                        sentiment=rng.choice([None, None, -0.9, -0.3, 0.4, 0.8]),
                    )
                )
            start = at + WINDOW + timedelta(hours=rng.randint(1, 30))
        if rng.random() < 0.4:
            # A survey and a support chat about the product, with scores.
            last = customer.steps[-1].at
            customer.steps.append(
                Step(f"{customer.customer_id}-nps", "survey_response", "email", last,
                     nps=rng.randint(0, 10))
            )  # fmt: skip
            customer.steps.append(
                Step(f"{customer.customer_id}-csat", "chat_started", "support", last,
                     csat=rng.randint(1, 5))
            )  # fmt: skip
        people.append(customer)
    return people


def event_json(customer: Customer, step: Step) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": step.event_id,
        "customer_id": customer.customer_id,
        "product_id": customer.product_id,
        "type": step.type,
        "channel": step.channel,
        "timestamp": step.at.isoformat(),
    }
    for name in ("sentiment", "nps", "csat"):
        if getattr(step, name) is not None:
            body[name] = getattr(step, name)
    return body


# --- the test's own model of journeys -------------------------------------------


@dataclass
class TrueJourney:
    product_id: str
    steps: list[Step]  # with effective types
    rank: int | None
    entered: dict[int, datetime]
    seconds_from_previous: dict[int, float]
    converted_at: datetime | None
    abandoned: bool


def true_journeys(customer: Customer) -> list[TrueJourney]:
    ordered = sorted(customer.steps, key=lambda s: (s.at, s.event_id))
    groups: list[list[Step]] = []
    for step in ordered:
        if groups and step.at - groups[-1][-1].at < WINDOW:
            groups[-1].append(step)
        else:
            groups.append([step])
    journeys = []
    for number, group in enumerate(groups):
        rank: int | None = None
        entered: dict[int, datetime] = {}
        seconds: dict[int, float] = {}
        converted_at = None
        steps = []
        for step in group:
            event_type = step.type
            if event_type == "purchase" and converted_at is not None:
                event_type = "repeat_purchase"
            stage = STAGE_OF.get(event_type)
            if stage is not None and (rank is None or stage > rank):
                if rank is not None:
                    seconds[stage] = (step.at - entered[rank]).total_seconds()
                rank = stage
                entered[stage] = step.at
            if event_type == "purchase":
                converted_at = step.at
            steps.append(Step(step.event_id, event_type, step.channel, step.at, step.sentiment))
        followed = number < len(groups) - 1
        over = followed or group[-1].at + WINDOW <= NOW - LATENESS
        journeys.append(
            TrueJourney(
                customer.product_id,
                steps,
                rank,
                entered,
                seconds,
                converted_at,
                abandoned=over and converted_at is None and rank is not None,
            )
        )
    return [j for j in journeys if j.rank is not None]


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def true_funnel(journeys: list[TrueJourney]) -> dict[str, Any]:
    reached = [sum(1 for j in journeys if j.rank is not None and j.rank >= k) for k in range(5)]
    stages = []
    for k, name in enumerate(STAGES):
        dropped = [j for j in journeys if j.abandoned and j.rank == k]
        last: dict[tuple[str, str], int] = defaultdict(int)
        for j in dropped:
            last[(j.steps[-1].type, j.steps[-1].channel)] += 1
        seconds = [j.seconds_from_previous[k] for j in journeys if k in j.seconds_from_previous]
        stages.append(
            {
                "stage": name,
                "reached": reached[k],
                "conversion_from_previous": None
                if k == 0
                else (reached[k] / reached[k - 1] if reached[k - 1] else None),
                "conversion_from_first": reached[k] / reached[0] if reached[0] else None,
                "seconds_from_previous": {
                    "median": percentile(seconds, 0.5),
                    "p90": percentile(seconds, 0.9),
                },
                "dropped": len(dropped),
                "last_touchpoints_before_dropping": [
                    {"type": t, "channel": c, "journeys": n}
                    for (t, c), n in sorted(last.items(), key=lambda i: (-i[1], i[0]))[:5]
                ],
            }
        )
    converted = [j for j in journeys if j.converted_at is not None]
    to_convert = [
        (j.converted_at - j.steps[0].at).total_seconds() for j in converted if j.converted_at
    ]
    return {
        "journeys": len(journeys),
        "converted": len(converted),
        "conversion": len(converted) / len(journeys) if journeys else None,
        "seconds_to_convert": {
            "median": percentile(to_convert, 0.5),
            "p90": percentile(to_convert, 0.9),
        },
        "stages": stages,
    }


def true_flow(journeys: list[TrueJourney]) -> dict[str, Any]:
    """The stage flow's nodes and links, as the API documents them."""
    moves: dict[tuple[str, str], int] = defaultdict(int)
    ends: dict[tuple[str, str], int] = defaultdict(int)
    revisited: dict[str, int] = defaultdict(int)
    for j in journeys:
        entered = [STAGES[k] for k in sorted(j.entered, key=lambda k: j.entered[k])]
        for source, target in zip(["start", *entered], entered, strict=False):
            moves[(source if source == "start" else f"stage:{source}", f"stage:{target}")] += 1
        assert j.rank is not None
        ends[("dropped" if j.abandoned else "open", STAGES[j.rank])] += 1
        rank: int | None = None
        went_back: set[int] = set()
        for step in j.steps:
            step_rank = STAGE_OF.get(step.type)
            if step_rank is None:
                continue
            if rank is not None and step_rank < rank:
                went_back.add(rank)
            rank = step_rank if rank is None else max(rank, step_rank)
        for k in went_back:
            revisited[STAGES[k]] += 1
    links: list[dict[str, Any]] = [
        {"source": s, "target": t, "journeys": n} for (s, t), n in moves.items()
    ]
    for stage in STAGES:
        for kind in ("dropped", "open"):
            if ends[(kind, stage)]:
                links.append(
                    {"source": f"stage:{stage}", "target": f"{kind}:{stage}",
                     "journeys": ends[(kind, stage)]}
                )  # fmt: skip
        if revisited[stage]:
            links.append(
                {"source": f"stage:{stage}", "target": f"revisited:{stage}",
                 "journeys": revisited[stage]}
            )  # fmt: skip
    inflow: dict[str, int] = defaultdict(int)
    for link in links:
        inflow[link["target"]] += link["journeys"]
    nodes = [{"id": "start", "kind": "start", "stage": None, "journeys": len(journeys)}]
    for stage in STAGES:
        for kind in ("stage", "dropped", "open", "revisited"):
            if inflow.get(f"{kind}:{stage}"):
                nodes.append(
                    {"id": f"{kind}:{stage}", "kind": kind, "stage": stage,
                     "journeys": inflow[f"{kind}:{stage}"]}
                )  # fmt: skip
    return {"journeys": len(journeys), "nodes": nodes, "links": links}


def true_touchpoints(
    journeys: list[TrueJourney], alerts_by_touch: dict[tuple[str, str], int]
) -> dict[tuple[str, str], dict[str, Any]]:
    figures: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"volume": 0, "customers": 0, "converted": 0, "bounced": 0, "sentiments": []}
    )
    for j in journeys:
        seen: dict[tuple[str, str], datetime] = {}
        for step in j.steps:
            key = (step.type, step.channel)
            seen.setdefault(key, step.at)
            figures[key]["volume"] += 1
            if step.sentiment is not None:
                figures[key]["sentiments"].append(step.sentiment)
        for key, first in seen.items():
            figures[key]["customers"] += 1
            figures[key]["converted"] += j.converted_at is not None and j.converted_at > first
        last = (j.steps[-1].type, j.steps[-1].channel)
        figures[last]["bounced"] += j.abandoned
    clicks = {"ad_impression": "ad_click", "email_open": "email_click"}
    expected = {}
    for (event_type, channel), f in figures.items():
        click = clicks.get(event_type)
        expected[(event_type, channel)] = {
            "type": event_type,
            "channel": channel,
            "volume": f["volume"],
            "customers": f["customers"],
            "click_through": None
            if click is None
            else figures[(click, channel)]["volume"] / f["volume"]
            if (click, channel) in figures
            else 0.0,
            "conversion_rate": f["converted"] / f["customers"],
            "bounce_rate": f["bounced"] / f["customers"],
            "average_sentiment": sum(f["sentiments"]) / len(f["sentiments"])
            if f["sentiments"]
            else None,
            "friction_rate": alerts_by_touch.get((event_type, channel), 0) / f["customers"],
        }
    return expected


def true_hotspots(people: list[Customer], alert_touches: list[Step]) -> dict[str, Any]:
    """Per (type, channel), channel and product: touches, alerts, negative, NPS, CSAT."""
    groups: dict[tuple[str, ...], dict[str, Any]] = defaultdict(
        lambda: {"touches": 0, "alerts": 0, "negative": 0, "sentiments": [], "nps": [], "csat": []}
    )
    product_of = {s.event_id: c.product_id for c in people for s in c.steps}
    for customer in people:
        for s in customer.steps:
            for key in (("tp", s.type, s.channel), ("ch", s.channel), ("pr", customer.product_id)):
                g = groups[key]
                g["touches"] += 1
                g["negative"] += s.sentiment is not None and s.sentiment <= -0.6
                if s.sentiment is not None:
                    g["sentiments"].append(s.sentiment)
                if s.nps is not None:
                    g["nps"].append(s.nps)
                if s.csat is not None:
                    g["csat"].append(s.csat)
    for s in alert_touches:
        for key in (("tp", s.type, s.channel), ("ch", s.channel), ("pr", product_of[s.event_id])):
            groups[key]["alerts"] += 1

    def figures(g: dict[str, Any]) -> dict[str, Any]:
        promoters = sum(1 for n in g["nps"] if n >= 9)
        detractors = sum(1 for n in g["nps"] if n <= 6)
        return {
            "touches": g["touches"],
            "alerts": g["alerts"],
            "negative": g["negative"],
            "average_sentiment": sum(g["sentiments"]) / len(g["sentiments"])
            if g["sentiments"]
            else None,
            "nps": 100 * (promoters - detractors) / len(g["nps"]) if g["nps"] else None,
            "nps_responses": len(g["nps"]),
            "average_csat": sum(g["csat"]) / len(g["csat"]) if g["csat"] else None,
            "csat_responses": len(g["csat"]),
        }

    def worst(key: tuple[str, ...]) -> tuple[Any, ...]:
        g = groups[key]
        return (-g["alerts"], -g["negative"], -g["touches"], *key[1:])

    ordered = sorted(groups, key=worst)
    return {
        "touchpoints": [
            {"type": k[1], "channel": k[2], **figures(groups[k])} for k in ordered if k[0] == "tp"
        ],
        "channels": [{"channel": k[1], **figures(groups[k])} for k in ordered if k[0] == "ch"],
        "products": [{"product_id": k[1], **figures(groups[k])} for k in ordered if k[0] == "pr"],
    }


def approx(value: Any) -> Any:
    """Floats compared to 1e-6 (sentiment sums are kept in millionths)."""
    if isinstance(value, float):
        return pytest.approx(value, abs=1e-6)
    if isinstance(value, dict):
        return {k: approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [approx(v) for v in value]
    return value


# --- the test ----------------------------------------------------------------------


@pytest.fixture
async def service(clean_database: str) -> AsyncIterator[Running]:
    async with running_embedded(clean_database, inactivity_window=WINDOW) as running:
        yield running


async def post_all(service: Running, people: list[Customer]) -> int:
    """Post every event: most in one pass, then a late wave of earlier events."""
    rng = random.Random(3)
    pairs = [(c, s) for c in people for s in c.steps]
    rng.shuffle(pairs)
    late = pairs[: len(pairs) // 5]
    on_time = sorted(pairs[len(pairs) // 5 :], key=lambda p: p[1].at)
    for wave in (on_time, late):
        for start in range(0, len(wave), 50):
            batch = [event_json(c, s) for c, s in wave[start : start + 50]]
            response = await service.writer.post("/v1/events", json={"batch": batch})
            assert response.status_code == 202, response.text
            assert response.json()["accepted"] == len(batch)
    return len(pairs)


async def settled(service: Running, expected: Callable[[dict[str, Any]], bool], path: str) -> Any:
    async def probe() -> Any:
        response = await service.reader.get(path)
        assert response.status_code == 200, response.text
        body = response.json()
        return body if expected(body) else None

    return await eventually(probe, within=60)


async def all_alerts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/alerts", params=params)).json()
        found += page["alerts"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


async def quiet_alerts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The alerts once their number held still for a second."""
    previous: list[dict[str, Any]] | None = None

    async def probe() -> list[dict[str, Any]] | None:
        nonlocal previous
        current = await all_alerts(client)
        stable = previous is not None and len(previous) == len(current)
        previous = current
        return current if stable else None

    return await eventually(probe, within=60, every=1.0)


@pytest.mark.timeout(240)
async def test_figures_equal_an_independent_count(service: Running) -> None:
    people = population()
    total = await post_all(service, people)
    # Every journey that can be over is: the idle aggregator abandons them promptly.
    journeys = [j for c in people if c.product_id == "p1" for j in true_journeys(c)]
    want_funnel = true_funnel(journeys)
    assert want_funnel["stages"][1]["dropped"]
    assert want_funnel["converted"]

    def all_counted(hotspots: dict[str, Any]) -> bool:
        return bool(sum(c["touches"] for c in hotspots["channels"]) == total)

    # Every event is in the maps first (the hotspots count it in the same transaction):
    # the funnel's own condition below can hold while a journey is still moving.
    await settled(service, all_counted, "/v1/hotspots?limit=1000")
    funnel = await settled(
        service,
        lambda body: (
            body["journeys"] == want_funnel["journeys"]
            and [s["dropped"] for s in body["stages"]]
            == [s["dropped"] for s in want_funnel["stages"]]
        ),
        "/v1/products/p1/funnel",
    )
    assert funnel == approx(
        {"product_id": "p1", "from": None, "to": None, "channel": None, **want_funnel}
    )
    await flow_and_drop_offs_agree(service, people)
    # Alerts were raised by the rules (tested on their own); the figures must place each
    # at the touchpoint that opened it. Timers fire on the idle aggregator's ticks, so
    # wait until the alerts stop changing.
    alerts = await quiet_alerts(service.reader)
    hotspots = await settled(service, all_counted, "/v1/hotspots?limit=1000")
    steps = {s.event_id: s for c in people for s in c.steps}
    product_of = {s.event_id: c.product_id for c in people for s in c.steps}
    opened_by = [steps[a["touchpoints"][0]] for a in alerts if a["touchpoints"]]
    assert opened_by, "the population raised no friction alerts"
    want_hotspots = true_hotspots(people, opened_by)
    assert hotspots == approx({"from": None, "to": None, "next_cursor": None, **want_hotspots})

    by_touch: dict[tuple[str, str], int] = defaultdict(int)
    for step in opened_by:
        if product_of[step.event_id] == "p1":
            by_touch[(step.type, step.channel)] += 1
    want_touch = true_touchpoints(journeys, by_touch)
    response = await service.reader.get("/v1/touchpoints", params={"product_id": "p1"})
    touch = response.json()
    assert touch["next_cursor"] is None
    assert {(t["type"], t["channel"]): t for t in touch["touchpoints"]} == approx(want_touch)
    assert [t["volume"] for t in touch["touchpoints"]] == sorted(
        (t["volume"] for t in touch["touchpoints"]), reverse=True
    )


async def flow_and_drop_offs_agree(service: Running, people: list[Customer]) -> None:
    """The stage flow, and the journeys behind each stage's drop-off, page by page."""
    owned = [(c.customer_id, j) for c in people if c.product_id == "p1" for j in true_journeys(c)]
    flow = (await service.reader.get("/v1/products/p1/flow")).json()
    want = true_flow([j for _, j in owned])
    assert flow["journeys"] == want["journeys"]
    assert flow["nodes"] == want["nodes"]
    assert sorted(flow["links"], key=str) == sorted(want["links"], key=str)
    assert any(node["kind"] == "revisited" for node in flow["nodes"])
    for k, stage in enumerate(STAGES):
        listed: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"stage": stage, "limit": 3}
            if cursor:
                params["cursor"] = cursor
            body = (
                await service.reader.get("/v1/products/p1/funnel/dropped", params=params)
            ).json()
            listed += body["journeys"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        want_customers = sorted(c for c, j in owned if j.abandoned and j.rank == k)
        assert sorted(j["customer_id"] for j in listed) == want_customers
        assert [j["abandoned_at"] for j in listed] == sorted(
            (j["abandoned_at"] for j in listed), reverse=True
        )
        assert all(j["map_url"].endswith(f"?instance={j['instance']}") for j in listed)


@pytest.mark.timeout(120)
async def test_a_funnel_by_time_range_and_first_channel(service: Running) -> None:
    people = population(seed=5, customers=30)
    await post_all(service, people)
    journeys = [j for c in people if c.product_id == "p1" for j in true_journeys(c)]
    since, until = OLD, NOW - timedelta(days=1)
    cohort = [j for j in journeys if since <= j.steps[0].at < until and j.steps[0].channel == "ads"]
    want = true_funnel(cohort)
    assert 0 < want["journeys"] < len(journeys)
    path = (
        f"/v1/products/p1/funnel?from={since.isoformat().replace('+00:00', 'Z')}"
        f"&to={until.isoformat().replace('+00:00', 'Z')}&channel=ads"
    )
    funnel = await settled(
        service,
        lambda body: (
            [s["dropped"] for s in body["stages"]] == [s["dropped"] for s in want["stages"]]
            and body["journeys"] == want["journeys"]
        ),
        path,
    )
    assert funnel["stages"] == approx(want["stages"])
    assert funnel["from"] == since.isoformat().replace("+00:00", "Z")


async def current_etag(service: Running, path: str) -> str:
    response = await service.reader.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-cache"
    return response.headers["ETag"]


POLLED = [
    "/v1/products/p1/funnel",
    "/v1/touchpoints?product_id=p1",
    "/v1/touchpoints",
    "/v1/hotspots",
    "/v1/customers/cust-000/experience",
    "/v1/customers/cust-000/journeys",
    "/v1/customers/cust-000/touchpoints",
]


@pytest.mark.timeout(120)
async def test_polling_is_304_until_an_event_changes_the_answer(service: Running) -> None:
    customer = Customer("cust-000", "p1", [Step("e0", "product_view", "web", NOW)])
    await post_all(service, [customer])
    await settled(service, lambda body: body["journeys"] == 1, "/v1/products/p1/funnel")
    tags = {path: await current_etag(service, path) for path in POLLED}

    for path, etag in tags.items():
        again = await service.reader.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.headers["ETag"] == etag
        assert again.content == b""
    assert {await current_etag(service, path) for path in POLLED} == set(tags.values())

    # Another product's event leaves this product's funnel alone...
    other = Customer("cust-999", "p2", [Step("e1", "ad_click", "ads", NOW)])
    await post_all(service, [other])
    await settled(service, lambda body: body["journeys"] == 1, "/v1/products/p2/funnel")
    assert await current_etag(service, POLLED[0]) == tags[POLLED[0]]

    # ...and a new event of this customer and product changes every answer about them.
    customer.steps = [Step("e2", "add_to_cart", "web", NOW + timedelta(seconds=1))]
    await post_all(service, [customer])
    await settled(service, lambda body: body["stages"][2]["reached"] == 1, "/v1/products/p1/funnel")
    for path, etag in tags.items():
        response = await service.reader.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 200, path
        assert response.headers["ETag"] != etag


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/v1/products/p1/funnel?from=2026-11-01T00:00:00", "'from' needs a timezone"),
        ("/v1/touchpoints?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "before 'to'"),
        ("/v1/hotspots?to=yesterday", "valid datetime"),
        ("/v1/hotspots?cursor=bm9wZQ", "cursor is not one this API returned"),
        ("/v1/touchpoints?limit=0", "greater than or equal to 1"),
    ],
)
async def test_bad_ranges_and_cursors_are_422_with_the_reason(
    service: Running, path: str, detail: str
) -> None:
    response = await service.reader.get(path)
    assert response.status_code == 422
    assert detail in response.text
