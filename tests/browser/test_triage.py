"""The desk's triage in real headless Chromium: a desk member corrects a case's place and, once routing has run,
the case is at the new station with its officer; a refused correction says why beside the case; a duplicate is
merged and spam rejected from the list; a correction sent without its CSRF token is refused. Screenshots go to
var/screenshots/ (triage.png: the list as the desk finds it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine

from models.db import make_engine, migrate, session_scope
from models.tables import Complaint
from monitor.followup.actions import CaseActions
from routing.stage import RouteStage
from tests.browser.conftest import serve
from tests.browser.test_dashboard_signin import sign_in, watched  # noqa: F401  (the fixture)
from tests.integration.test_case_actions import COMPOSER, ORG, case, file_post, holder
from tests.integration.test_corrections import relocate
from tests.integration.test_dashboard_auth import PASSWORDS, FakeClock, make_app
from tests.integration.test_notify_delivery import context
from tests.integration.test_triage_pages import add_accounts, units_under

pytestmark = pytest.mark.slow
POSTS = {
    "lost": "Someone snatched my gold chain this morning, near the big temple! Please help 🙏",
    "duplicate": "Posting again: my chain was snatched near the temple, nobody has called me",
    "spam": "Earn ₹50,000 a week from home!!! DM for details http://t.co/xyz",
    "unsure": "ಯಾರೋ ನನ್ನ ಬೈಕ್ ಕದ್ದಿದ್ದಾರೆ, bike stolen from outside the PG last night",
}


class Desk:
    def __init__(self, url: str, engine: Engine, clock: FakeClock, ids: dict[str, int]) -> None:
        self.url, self.engine, self.clock, self.ids = url, engine, clock, ids

    def docket(self, name: str) -> str:
        docket = case(self.engine, self.ids[name]).docket
        assert docket is not None
        return docket

    def route(self) -> None:
        RouteStage(context(ORG)).run(self.engine, self.clock.now)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """Cases the bot could not place (no station) or was unsure of, routed to the desk; a case at L1 that one
    of them duplicates; the desk's account is officer DESK1 of the made-up force."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('triage') / 'triage.db'}")
    migrate(engine)
    add_accounts(engine)
    clock = FakeClock()
    ids = {name: file_post(engine, text=text, station=None) for name, text in POSTS.items()}
    with session_scope(engine) as session:  # the model was unsure of the code-mixed post
        unsure = session.get(Complaint, ids["unsure"])
        assert unsure is not None
        unsure.category, unsure.confidence = "other", 0.31
        session.add(unsure)
    ids["original"] = file_post(engine, text="My chain was snatched near the temple on 4th Main", station="l1")
    RouteStage(context(ORG)).run(engine, clock.now)
    triage = CaseActions(engine, ORG, COMPOSER, relocate=relocate)
    with serve(make_app(engine, clock, triage=triage, units_under=units_under)) as url:
        yield Desk(url, engine, clock, ids)
    engine.dispose()


def test_a_desk_member_corrects_a_place_and_the_case_moves_to_the_new_station(
    watched: Page, desk: Desk, screenshots: Path  # noqa: F811
) -> None:
    docket = desk.docket("lost")
    sign_in(watched, desk.url, "desk", PASSWORDS["desk"])
    expect(watched).to_have_url(f"{desk.url}/triage")
    expect(watched.locator("article.triage")).to_have_count(4)
    watched.screenshot(path=screenshots / "triage.png", full_page=True)

    watched.get_by_label(f"Place of {docket}").fill("Koramangala")
    watched.get_by_role("button", name=f"Correct {docket}").click()

    expect(watched.get_by_role("status")).to_contain_text(f"{docket} corrected")
    assert (case(desk.engine, desk.ids["lost"]).status, case(desk.engine, desk.ids["lost"]).station_id) == ("new", "l2")
    desk.route()  # the bot's next routing cycle
    assert holder(desk.engine, desk.ids["lost"]) == "L2-HEAD"
    watched.goto(f"{desk.url}/cases/{docket}")
    expect(watched.locator("main")).to_contain_text("l2")
    expect(watched.locator("main")).to_contain_text("L2-HEAD")
    watched.screenshot(path=screenshots / "triage-corrected-case.png", full_page=True)


def test_a_refused_correction_says_why_beside_the_case(watched: Page, desk: Desk, screenshots: Path) -> None:  # noqa: F811
    docket = desk.docket("unsure")
    sign_in(watched, desk.url, "desk", PASSWORDS["desk"])

    watched.get_by_label(f"Category of {docket}").select_option("theft")
    watched.get_by_label(f"Place of {docket}").fill("Gotham")
    watched.get_by_role("button", name=f"Correct {docket}").click()

    alert = watched.get_by_role("alert")
    expect(alert).to_have_text(f"{docket}: unknown place 'Gotham'; name a locality, road or landmark")
    expect(watched.get_by_label(f"Place of {docket}")).to_have_value("Gotham")  # what was typed is kept
    watched.screenshot(path=screenshots / "triage-refused.png", full_page=True)
    assert case(desk.engine, desk.ids["unsure"]).status == "desk"


def test_the_desk_merges_a_duplicate_and_rejects_spam(watched: Page, desk: Desk, screenshots: Path) -> None:  # noqa: F811
    duplicate, spam, original = desk.docket("duplicate"), desk.docket("spam"), desk.docket("original")
    sign_in(watched, desk.url, "desk", PASSWORDS["desk"])

    watched.get_by_label(f"Merge {duplicate} into docket").fill(original)
    watched.get_by_role("button", name=f"Merge {duplicate}").click()
    expect(watched.get_by_role("status")).to_contain_text(f"{duplicate} merged")

    watched.locator("article.triage", has_text=POSTS["spam"][:20]).get_by_text("Mark as spam…").click()
    watched.screenshot(path=screenshots / "triage-spam.png", full_page=True)
    watched.get_by_role("button", name=f"Reject {spam} as spam").click()
    expect(watched.get_by_role("status")).to_contain_text(f"{spam} rejected as spam")

    assert case(desk.engine, desk.ids["duplicate"]).status == "merged"
    assert (case(desk.engine, desk.ids["spam"]).status, case(desk.engine, desk.ids["spam"]).rejected_reason) == (
        "rejected",
        "spam",
    )
    expect(watched.get_by_role("link", name=duplicate, exact=True)).to_have_count(0)


def test_a_correction_sent_without_its_csrf_token_is_refused(page: Page, desk: Desk) -> None:
    docket = desk.docket("unsure")
    sign_in(page, desk.url, "desk", PASSWORDS["desk"])

    form = page.locator(f"form[action='/triage/{docket}/correct']")
    form.locator("input[name=csrftoken]").evaluate("input => input.remove()")
    page.get_by_label(f"Place of {docket}").fill("Koramangala")
    with page.expect_response(f"{desk.url}/triage/{docket}/correct") as sent:
        page.get_by_role("button", name=f"Correct {docket}").click()

    assert sent.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This form was refused")
    assert case(desk.engine, desk.ids["unsure"]).station_id is None
