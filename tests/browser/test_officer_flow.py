"""An officer's day in real headless Chromium: sign in, see the queue, acknowledge with one tap, report the
action (the note shown masked before it is posted) and confirm; the reply stage then posts the reply in
the citizen's thread on the sandbox (a real port). Another station's case is a 404; a signed link does
nothing when opened and acts once when its button is pressed; post text stays inert. Screenshots of the
queue and of a case's timeline go to var/screenshots/ (queue.png, case.png)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.engine import Engine

from dashboard.links import link_for
from models.db import make_engine, migrate, session_scope
from models.mentions import ensure_account
from monitor.followup.replies import ReplySettings, ReplyStage
from monitor.loop import make_platform
from monitor.platform import Platform
from sandbox import SandboxServer, ScenarioPost
from sandbox import XAccount as SandboxX
from tests.browser import test_dashboard_signin as signin_tests
from tests.browser.conftest import serve
from tests.builders import SANDBOX_TOKEN, make_polling, make_x_account
from tests.integration.test_dashboard_auth import SECRET, FakeClock
from tests.integration.test_dashboard_case_page import (
    HOSTILE_TEXT,
    PASSWORD,
    add_account,
    holder_of,
    new_case,
    status_of,
)
from tests.integration.test_dashboard_case_page import dashboard as case_dashboard
from tests.integration.test_dashboard_queue import held_case
from tests.integration.test_notify_delivery import NOW

pytestmark = pytest.mark.slow
sign_in = signin_tests.sign_in
watched = signin_tests.watched  # the page that fails the test on any console error or script dialog

X_USER = "1021737162349010945"
CITIZEN_POST = "1860000000000000101"
NOTE = "Your phone was found near the bus stand. Call 98450 12345 to collect it from the station."


@dataclass(frozen=True)
class World:
    url: str
    engine: Engine
    clock: FakeClock
    sandbox: SandboxServer
    platforms: dict[int, Platform]
    docket: str  # the citizen's case on the sandbox, held by ``officer``
    officer: str
    elsewhere: str  # a case of another station
    hostile: str  # a case whose post tries every trick

    def run_reply_stage(self) -> dict[str, int]:
        stage = ReplyStage(self.platforms, ReplySettings(), tell=lambda session, event: None)
        return stage.run(self.engine, self.clock())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('officer') / 'dashboard.db'}")
    migrate(engine)
    clock = FakeClock(NOW)
    text = "@blrcitytraffic my phone was snatched at the Jayanagar bus stand, please help"
    sandbox = SandboxServer(
        [ScenarioPost("x", text, "asha_k", NOW - timedelta(minutes=10), id=CITIZEN_POST, account="blrcitytraffic")],
        x_accounts=[SandboxX(X_USER, "blrcitytraffic", access_token=SANDBOX_TOKEN)],
        clock=clock,
    ).start()
    platform = make_platform(make_x_account(api_base_url=sandbox.url), make_polling(), clock)
    with session_scope(engine) as session:
        account_id = ensure_account(
            session,
            platform=platform.platform,
            key=platform.key,
            external_user_id=platform.own_user_id,
            label=platform.label,
        )
    docket = new_case(
        engine, text, account=(platform.platform, platform.key, platform.own_user_id), external_id=CITIZEN_POST
    )
    officer = holder_of(engine, docket)
    elsewhere = new_case(engine, "@blrcitypolice bike stolen outside the temple", station="l3")
    hostile = new_case(engine, HOSTILE_TEXT)
    held_case(
        engine,
        "BLR-2026-000901",
        officer=officer,
        ack_by=NOW - timedelta(minutes=50),
        act_by=NOW + timedelta(hours=20),
        text="Two men on a bike snatched a chain near Jayanagar 4th block market",
    )
    held_case(
        engine,
        "BLR-2026-000902",
        officer=officer,
        ack_by=NOW - timedelta(hours=3),
        act_by=NOW + timedelta(hours=6),
        status="acknowledged",
        acknowledged_at=NOW - timedelta(hours=4),
        text="Laptop stolen from a parked car outside the metro station",
    )
    add_account(engine, officer.lower(), "officer", officer_id=officer)
    add_account(engine, "desk1", "desk", officer_id="DESK1")
    try:
        with serve(case_dashboard(engine, clock=clock)) as url:
            yield World(url, engine, clock, sandbox, {account_id: platform}, docket, officer, elsewhere, hostile)
    finally:
        sandbox.stop()
        engine.dispose()


def test_an_officer_acknowledges_reports_the_action_and_the_reply_reaches_the_citizens_thread(
    watched: Page, world: World, screenshots: Path
) -> None:
    page, docket = watched, world.docket
    sign_in(page, world.url, world.officer.lower(), PASSWORD)
    expect(page).to_have_url(f"{world.url}/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("My open cases")
    row = page.get_by_role("row").filter(has_text=docket)
    expect(page.get_by_text("Times are IST.")).to_be_visible()  # deadlines in the deployment's zone
    expect(row).to_contain_text("23 Nov 14:00")
    expect(page.get_by_role("row").nth(1)).to_contain_text("overdue by")  # overdue first
    page.screenshot(path=screenshots / "queue.png", full_page=True)
    world.clock.advance(minutes=6)

    row.get_by_role("button", name=f"Acknowledge {docket}").click()

    expect(page.get_by_role("status")).to_have_text(f"{docket} acknowledged.")
    assert status_of(world.engine, docket) == "acknowledged"
    page.get_by_role("link", name=docket).click()
    expect(page).to_have_url(f"{world.url}/cases/{docket}")
    world.clock.advance(minutes=85)  # out to the bus stand and back
    page.get_by_label("Action taken").fill(NOTE)
    page.get_by_role("button", name="Preview what the citizen will read").click()

    shown = page.locator(".preview .masked")
    expect(shown).to_contain_text("Call XXXXX XXX45 to collect it")
    assert "98450" not in shown.inner_text()
    assert status_of(world.engine, docket) == "acknowledged"  # nothing posted before the officer confirms
    page.screenshot(path=screenshots / "case-preview.png", full_page=True)
    page.get_by_role("button", name="Confirm: post the action taken").click()

    expect(page.get_by_role("status")).to_contain_text("Action taken reported")
    assert status_of(world.engine, docket) == "action_taken"
    counts = world.run_reply_stage()
    assert counts["replies_posted"] == 2  # the acknowledgement planned at routing, then the action taken
    in_thread = [r for r in world.sandbox.state.received() if r.in_reply_to == CITIZEN_POST]
    assert len(in_thread) == 2
    action = next(r for r in in_thread if "XXXXX XXX45" in r.text)
    assert "98450" not in action.text and docket in action.text
    page.reload()
    replies = page.locator("section").filter(has=page.get_by_role("heading", name="Replies to the citizen"))
    expect(replies).to_contain_text(action.id)  # the platform's id of the reply it now shows as posted
    expect(replies).to_contain_text("posted")
    expect(page.locator("ol.timeline")).to_contain_text("case.act")
    page.screenshot(path=screenshots / "case.png", full_page=True)


def test_an_officer_opening_another_stations_case_by_its_address_gets_404(watched: Page, world: World) -> None:
    sign_in(watched, world.url, world.officer.lower(), PASSWORD)
    expect(watched).to_have_url(f"{world.url}/queue")

    answer = watched.goto(f"{world.url}/cases/{world.elsewhere}")

    assert answer is not None and answer.status == 404
    expect(watched.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(watched.locator("body")).not_to_contain_text("bike stolen")


def test_a_signed_link_acts_only_after_its_button_and_only_once(
    watched: Page, browser: Browser, world: World, screenshots: Path
) -> None:
    docket = new_case(world.engine, "@blrcitypolice someone is following my daughter from the bus stop")
    officer = holder_of(world.engine, docket)
    url = link_for(SECRET, world.url, docket, officer, now=world.clock())
    preview = browser.new_page()  # what a chat app's link preview does: it opens the link
    preview.goto(url)
    preview.close()

    watched.goto(url)
    expect(watched.get_by_role("heading", level=1)).to_contain_text(docket)
    second_tab = watched.context.new_page()
    second_tab.goto(url)
    assert status_of(world.engine, docket) == "assigned"  # opened three times, nothing done
    watched.screenshot(path=screenshots / "link.png", full_page=True)

    watched.get_by_role("button", name=f"Acknowledge {docket}").click()

    expect(watched.get_by_role("status")).to_have_text(f"{docket} acknowledged. Thank you.")
    assert status_of(world.engine, docket) == "acknowledged"
    second_tab.get_by_role("button", name=f"Acknowledge {docket}").click()
    expect(second_tab.get_by_role("heading", level=1)).to_have_text("This link was used already")
    second_tab.close()


def test_post_text_renders_as_inert_text_in_the_browser(watched: Page, world: World) -> None:
    sign_in(watched, world.url, "desk1", PASSWORD)
    expect(watched).to_have_url(f"{world.url}/triage")

    for path in (f"/cases/{world.hostile}", "/queue"):
        watched.goto(f"{world.url}{path}")
        post = watched.locator(".post-text").filter(has_text="tap here").first
        expect(post).to_contain_text("<script>alert(1)</script> <b>bold</b>")
        expect(post).to_contain_text("[RLO]gnp.exe[PDF]")
        assert watched.locator('a[href^="javascript:"], b, script:not([src])').count() == 0, path
    # the watched page fails the test on any dialog: alert() never ran
