"""The web console, clicked through in headless Chromium against a real `journeymap up`.

Each view shows the demo's posted data (tests/support/console_data.py), as text and as
chart elements; signing in and out, a refused or revoked key, acting on an alert, and
live updates without a reload. Every test also checks (in the `tab` fixture) that the
page asked no other host and logged no error.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import REFUSED, Console, Tab
from tests.support.console_data import ERRORS, live_event, post, wait_for
from tests.support.process import run_cli

READ_ONLY_NOTE = "Sign in with the alerts key to acknowledge or resolve this alert."


def card(page: Page, label: str) -> Locator:
    """The value of the totals card with this label."""
    return page.locator(".card", has=page.locator(".label", has_text=label)).locator(".value")


def svg_text(page: Page, chart: str, text: str) -> Locator:
    return page.locator(f"{chart} svg text", has_text=text)


def api(console: Console, path: str, role: str = "read") -> Any:
    with console.up.client(role) as client:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


# -- Signing in and out ----------------------------------------------------------------


def test_the_read_key_signs_in_and_the_home_shows_the_latest_touchpoints(tab: Tab) -> None:
    page = tab.page
    tab.goto("/")
    expect(page).to_have_url(tab.console.url("/sign-in"))
    expect(page.locator("#signed-in-as")).to_have_text("")

    tab.sign_in("read", "/")

    expect(page.locator("#signed-in-as")).to_have_text(
        f"{tab.console.key_name('read')} · read only"
    )
    expect(page.locator("#sign-out")).to_be_visible()
    expect(page.get_by_role("heading", name="Latest touchpoints")).to_be_visible()
    stream = page.get_by_role("region", name="Latest touchpoints")
    for event_id, event_type in [("w1", "ad_click"), ("w4", "purchase"), ("w6", "survey_response")]:
        row = stream.locator(f"tr[data-event-id='{event_id}']")
        expect(row).to_contain_text(event_type)
        expect(row).to_contain_text("alice")
    expect(card(page, "Open alerts")).not_to_have_text("0")
    refused = page.get_by_role("region", name="Refused events")
    expect(refused).to_contain_text("bad-1")
    expect(refused).to_contain_text("revenue: Input should be a valid decimal")
    assert tab.has_session_cookie()


def test_a_wrong_key_is_refused_with_the_servers_message_and_no_cookie(tab: Tab) -> None:
    tab.allowed[REFUSED] = 1  # the refused POST /v1/session itself
    page = tab.page
    tab.goto("/customers")
    page.locator("#key").fill("jm_read_not-a-key")
    page.get_by_role("button", name="Sign in").click()

    error = page.get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_contain_text("unknown or revoked API key: ")
    expect(page).to_have_url(tab.console.url("/sign-in"))
    expect(page.locator("#signed-in-as")).to_have_text("")
    assert not tab.has_session_cookie()


def test_signing_in_returns_to_the_page_asked_for(tab: Tab) -> None:
    tab.sign_in("alerts", "/customers/alice")

    expect(tab.page.get_by_role("heading", name="Experience map: alice")).to_be_visible()
    expect(tab.page.locator("#signed-in-as")).to_have_text(
        f"{tab.console.key_name('alerts')} · can act on alerts"
    )


def test_signing_out_clears_the_session(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/hotspots")

    page.locator("#sign-out").click()

    expect(page.locator("#key")).to_be_visible()
    expect(page.locator("#signed-in-as")).to_have_text("")
    expect(page.locator("#sign-out")).to_be_hidden()
    assert not tab.has_session_cookie()
    tab.goto("/customers")
    expect(page.locator("#key")).to_be_visible()
    expect(page).to_have_url(tab.console.url("/sign-in"))


def test_a_revoked_key_is_signed_out_with_the_reason_at_the_next_poll(tab: Tab) -> None:
    tab.allowed[REFUSED] = 1  # the poll that finds the key revoked
    console, page = tab.console, tab.page
    name = "console-revoked"
    created = run_cli(
        "keys", "create", "--name", name, "--scope", "read",
        "--data-dir", str(console.up.data_dir), env=console.env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    tab.goto("/customers")
    page.locator("#key").fill(created.stdout.strip())
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_have_text(f"{name} · read only")
    expect(page.get_by_role("link", name="alice", exact=True)).to_be_visible()
    page.evaluate("window.__marker = 1")

    revoked = run_cli(
        "keys", "revoke", name, "--data-dir", str(console.up.data_dir), env=console.env
    )
    assert revoked.returncode == 0, revoked.stderr

    expect(page.locator("#key")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(
        "the key this browser signed in with is unknown or revoked; sign in again"
    )
    # The form and the reason are up: the header says nobody is signed in by then.
    expect(page.locator("#signed-in-as")).to_have_text("", timeout=10_000)
    expect(page.locator("#sign-out")).to_be_hidden()
    assert page.evaluate("window.__marker") == 1, "the page reloaded"


# -- The views show the posted data ------------------------------------------------------


def test_customers_are_found_by_the_start_of_their_id(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/customers?q=b")
    results = page.get_by_role("region", name="Customers found")
    expect(results.get_by_role("link", name="bob", exact=True)).to_be_visible()
    expect(results.get_by_role("link", name="alice", exact=True)).to_have_count(0)

    page.locator("#q").fill("ali")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(tab.console.url("/customers?q=ali"))
    row = results.locator("tr", has=page.get_by_role("link", name="alice", exact=True))
    expect(row).to_contain_text("6")
    results.get_by_role("link", name="alice", exact=True).click()
    expect(page.get_by_role("heading", name="Experience map: alice")).to_be_visible()


def test_the_experience_map_shows_alices_channels_emotion_and_detractor_answer(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/customers/alice")

    expect(card(page, "Touchpoints")).to_have_text("6")
    expect(card(page, "Revenue")).to_have_text("499")
    expect(card(page, "NPS")).to_have_text("6 detractor")
    expect(card(page, "Average CSAT")).to_have_text("2.0 / 5")
    expect(card(page, "Support contacts")).to_have_text("1")
    for channel in ("ads", "web", "support", "email"):
        expect(svg_text(page, "#lanes", channel)).not_to_have_count(0)
    expect(page.locator("#lanes svg path")).not_to_have_count(0)
    expect(svg_text(page, "#emotion", "NPS 6")).to_have_count(1)
    expect(svg_text(page, "#emotion", "CSAT 2")).to_have_count(1)
    journeys = page.locator("table", has=page.get_by_role("link", name="bike #0"))
    expect(journeys).to_contain_text("converted")
    expect(journeys).to_contain_text("service")
    expect(page.get_by_role("link", name="detractor: NPS 6, CSAT 2")).to_be_visible()

    page.get_by_role("link", name="bike #0").click()
    expect(page).to_have_url(tab.console.url("/customers/alice/journeys/bike?instance=0"))
    expect(page.get_by_role("heading", name="Journey map: alice · bike")).to_be_visible()


def test_the_journey_map_puts_each_touchpoint_in_its_stage(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/customers/alice/journeys/bike?instance=0")

    def stage(name: str) -> Locator:
        return page.locator(f"section.stage[data-stage='{name}']")

    purchase = stage("decision").locator("article.tp[data-event-id='w4']")
    expect(purchase).to_contain_text("purchase")
    expect(purchase.locator(".badge", has_text="conversion")).to_be_visible()
    expect(stage("decision").locator("article.tp")).to_have_count(2)
    expect(stage("awareness").locator("article.tp[data-event-id='w1']")).to_contain_text("ad_click")
    expect(stage("consideration").locator("article.tp[data-event-id='w2']")).to_be_visible()
    expect(stage("service").locator("article.tp[data-event-id='w5']")).to_contain_text(
        "sentiment -0.40"
    )
    expect(stage("loyalty")).to_contain_text("not reached")
    expect(stage("loyalty").locator("article.tp")).to_have_count(0)
    expect(card(page, "Outcome")).to_have_text("converted")
    expect(card(page, "Touchpoints")).to_have_text("5")
    expect(page.locator("#instance option")).to_have_count(1)
    expect(page.locator("#instance")).to_contain_text("#0 · converted")
    transitions = page.locator("table", has=page.get_by_role("columnheader", name="By touchpoint"))
    expect(transitions.locator("tbody tr")).to_have_count(4)
    expect(transitions.locator("tbody tr").last).to_contain_text("w5")


def test_the_journey_map_marks_a_revisit(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/customers/dave/journeys/bike")

    revisit = page.locator(
        "section.stage[data-stage='decision'] article.tp[data-event-id='dave-4']"
    )
    expect(revisit).to_contain_text("compare")
    expect(revisit.locator(".badge", has_text="revisit")).to_be_visible()
    expect(card(page, "Revisits")).to_have_text("1")


def test_the_funnel_shows_the_stages_and_who_dropped_where(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/funnels", lands="/funnels/bike")

    expect(card(page, "Journeys")).to_have_text("7")
    expect(card(page, "Converted")).to_have_text("4")
    for stage in ("awareness", "consideration", "decision", "service", "loyalty"):
        expect(svg_text(page, "#funnel-chart", stage)).not_to_have_count(0)
    expect(svg_text(page, "#funnel-chart", "7 · 100.0 %")).to_have_count(1)
    # A bar per stage reached, and one per stage with a drop-off, at least.
    assert page.locator("#funnel-chart svg path").count() >= 8
    for stage in ("awareness", "consideration", "decision"):
        expect(
            page.get_by_role("button", name=f"Show the 1 journey dropped in {stage}")
        ).to_be_visible()

    page.get_by_role("button", name="Show the 1 journey dropped in consideration").click()

    dropped = page.locator("section#dropped")
    expect(dropped.get_by_role("heading")).to_have_text("Dropped in consideration")
    expect(dropped.locator("tbody tr")).to_have_count(1)
    expect(dropped).to_contain_text("compare (web)")
    dropped.get_by_role("link", name="bob #0").click()

    expect(page).to_have_url(tab.console.url("/customers/bob/journeys/bike?instance=0"))
    expect(page.get_by_role("heading", name="Journey map: bob · bike")).to_be_visible()
    expect(card(page, "Outcome")).to_have_text("abandoned")
    last = page.locator(
        "section.stage[data-stage='consideration'] article.tp[data-event-id='bob-3']"
    )
    expect(last).to_contain_text("compare")
    expect(page.locator("section.stage[data-stage='decision']")).to_contain_text("not reached")


def test_the_stage_flow_shows_where_journeys_went(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/flows/bike")

    for label in (
        "start: 7",
        "awareness: 7",
        "consideration: 6",
        "decision: 5",
        "dropped in awareness: 1",
        "dropped in consideration: 1",
        "dropped in decision: 1",
        "went back from decision: 1",
        "still in loyalty: 1",
    ):
        expect(svg_text(page, "#flow-chart", label)).to_have_count(1)
    expect(page.locator("#flow-chart svg path")).not_to_have_count(0)
    flows = page.locator("table")
    row = flows.locator("tr", has_text="dropped in consideration")
    expect(row.locator("td")).to_have_text(["consideration", "dropped in consideration", "1"])
    expect(flows.locator("tbody tr")).to_have_count(
        len(api(tab.console, "/v1/products/bike/flow")["links"])
    )


def test_hotspots_rank_the_products_and_touchpoints(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/hotspots")

    products = page.locator("table").first
    expect(products.locator("tbody tr").first.locator("td").first).to_have_text("bike")
    expect(products).to_contain_text("helmet")
    touchpoints = page.locator("table").nth(1)
    expect(touchpoints.locator("tbody tr").first).to_contain_text("payment_failed")
    products.get_by_role("link", name="customers by stage").first.click()
    expect(page).to_have_url(tab.console.url("/funnels/bike"))
    page.go_back()
    # The customers behind the worst touchpoint: only carol had a payment error.
    touchpoints = page.locator("table").nth(1)
    touchpoints.locator("tbody tr").first.get_by_role("link", name="customers").click()
    expect(page.locator("h1")).to_have_text("Customers")
    expect(page.locator("main tbody tr")).to_have_count(1)
    expect(page.locator("main tbody tr")).to_contain_text("carol")


# -- Alerts --------------------------------------------------------------------------


def test_the_inbox_lists_open_alerts_and_an_alert_shows_what_triggered_it(tab: Tab) -> None:
    page = tab.page
    errors = tab.console.alerts.errors
    tab.sign_in("read", "/alerts")

    expect(page.locator("#f-status")).to_have_value("open")
    row = page.locator(f"tr[data-alert-id='{errors}']")
    expect(row).to_contain_text("3 errors within 1 hour, latest payment_failed")
    expect(row.locator(".badge").first).to_have_text("critical")
    expect(row).to_contain_text(ERRORS)
    expect(page.locator("#alert-count")).to_have_text(
        str(sum(api(tab.console, "/v1/overview")["open_alerts"].values()))
    )

    row.get_by_role("link", name="3 errors within 1 hour, latest payment_failed").click()

    expect(page).to_have_url(tab.console.url(f"/alerts/{errors}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "3 errors within 1 hour, latest payment_failed"
    )
    triggered = page.locator("table", has=page.get_by_role("columnheader", name="Sentiment"))
    expect(triggered.locator("tbody tr")).to_have_count(3)
    for event_id in ("carol-5", "carol-6", "carol-7"):
        expect(triggered).to_contain_text(event_id)
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    expect(page.get_by_text("No notifier is configured, or none was due.")).to_be_visible()
    expect(page.get_by_role("link", name="carol's bike journey map")).to_be_visible()


def test_a_read_key_cannot_act_on_an_alert(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", f"/alerts/{tab.console.alerts.errors}")

    expect(page.get_by_text(READ_ONLY_NOTE)).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    expect(page.locator("#note")).to_have_count(0)


def test_acknowledging_an_alert_with_a_note_reaches_the_api(tab: Tab) -> None:
    page, console = tab.page, tab.console
    alert = console.alerts.detractor
    note = "Called alice back about the bike; a new saddle is on its way."
    tab.sign_in("alerts", f"/alerts/{alert}")
    expect(page.get_by_role("heading", level=1)).to_have_text("detractor: NPS 6, CSAT 2")

    page.locator("#note").fill(note)
    page.get_by_role("button", name="Acknowledge").click()

    expect(page.locator(".flags .badge", has_text="acknowledged")).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve")).to_be_visible()
    expect(page.get_by_role("cell", name=note)).to_be_visible()
    detail = api(console, f"/v1/alerts/{alert}", role="read")
    assert detail["status"] == "acknowledged"
    assert detail["acknowledged_by"] == console.key_name("alerts")
    assert [(a["action"], a["note"]) for a in detail["actions"]] == [("acknowledged", note)]


# -- Live updates ------------------------------------------------------------------------


def test_a_new_event_appears_on_the_home_page_without_a_reload(tab: Tab) -> None:
    page = tab.page
    tab.sign_in("read", "/")
    expect(page.locator("tr[data-event-id='w6']")).to_be_visible()
    page.evaluate("window.__marker = 1")

    post(tab.console.up, [live_event("live-1", "ivan", "product_view")])

    row = page.locator("tr[data-event-id='live-1']")
    expect(row).to_contain_text("ivan")
    expect(row).to_contain_text("product_view")
    expect(row).to_have_class(re.compile(r"\bfresh\b"))
    expect(page.locator("tbody tr").first).to_have_attribute("data-event-id", "live-1")
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    expect(page).to_have_url(tab.console.url("/"))


def test_a_new_alert_appears_in_the_inbox_without_a_reload(tab: Tab) -> None:
    page, console = tab.page, tab.console
    tab.sign_in("read", "/alerts")
    expect(page.locator(f"tr[data-alert-id='{console.alerts.errors}']")).to_be_visible()
    page.evaluate("window.__marker = 1")

    post(console.up, [live_event("live-judy-1", "judy", "payment_failed")])

    def judys_alert() -> int | None:
        found = api(console, "/v1/alerts?customer_id=judy&status=open")["alerts"]
        return found[0]["id"] if found else None

    alert: int = wait_for(judys_alert, within=30, what="judy's alert")
    row = page.locator(f"tr[data-alert-id='{alert}']")
    expect(row).to_contain_text("error touchpoint: payment_failed")
    expect(row).to_contain_text("judy")
    expect(row).to_have_class(re.compile(r"\bfresh\b"))
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
