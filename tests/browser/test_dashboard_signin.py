"""Signing in to the dashboard in real headless Chromium: each role lands on its page, a wrong password is
told and the fifth locks the account (in a second app instance too), a kept cookie is worthless after
sign-out, a form without its CSRF token is refused, another officer's case is a 404, post text stays
inert, and no page breaks its own Content-Security-Policy. Screenshots go to var/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Response, expect

from models.db import make_engine
from tests.browser.conftest import LOCKABLE, Served, serve
from tests.integration.test_dashboard_auth import PASSWORDS, make_app
from tests.integration.test_dashboard_pages import units_under

pytestmark = pytest.mark.slow


@pytest.fixture
def watched(page: Page) -> Iterator[Page]:
    """The page, failing the test on any console error (a CSP refusal shows there, and so does a static
    file that fails to load) or script dialog. A page's own status (a 404 case, a 401 sign-in) is not one."""
    problems: list[str] = []
    documents: set[str] = set()

    def on_response(response: Response) -> None:
        if response.request.is_navigation_request():
            documents.add(response.url)

    def on_console(message: ConsoleMessage) -> None:
        at = message.location.get("url")
        if message.type == "error" and not (message.text.startswith("Failed to load resource") and at in documents):
            problems.append(f"console: {message.text} at {at}")

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("dialog", on_dialog)
    yield page
    assert problems == []


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize(
    ("role", "landing", "heading"),
    [
        ("commissioner", "/leaderboard", "Leaderboard"),
        ("supervisor", "/leaderboard", "Leaderboard"),
        ("officer", "/queue", "My open cases"),
        ("desk", "/triage", "Triage"),
    ],
)
def test_each_role_signs_in_and_lands_on_its_page(
    watched: Page, dashboard: Served, screenshots: Path, role: str, landing: str, heading: str
) -> None:
    sign_in(watched, dashboard.url, role, PASSWORDS[role])

    expect(watched).to_have_url(f"{dashboard.url}{landing}")
    expect(watched.get_by_role("heading", level=1)).to_have_text(heading)
    expect(watched.get_by_role("button", name="Sign out")).to_be_visible()
    watched.screenshot(path=screenshots / f"{role}-landing.png", full_page=True)


def test_a_wrong_password_is_told_and_the_fifth_locks_the_account_in_a_second_instance_too(
    watched: Page, browser: Browser, dashboard: Served, screenshots: Path
) -> None:
    username, password = LOCKABLE
    for attempt in range(1, 5):
        sign_in(watched, dashboard.url, username, f"wrong guess number {attempt}")
        expect(watched.get_by_role("alert")).to_have_text("Wrong username or password.")
        if attempt == 1:
            watched.screenshot(path=screenshots / "login-wrong-password.png")
    sign_in(watched, dashboard.url, username, "wrong guess number 5")
    expect(watched.get_by_role("alert")).to_contain_text("this account is locked until")
    watched.screenshot(path=screenshots / "login-locked.png")

    other_process = make_engine(dashboard.engine.url.render_as_string(hide_password=False))
    with serve(make_app(other_process, dashboard.clock, units_under=units_under)) as second:
        other = browser.new_page()
        sign_in(other, second, username, password)  # the right password, on another process's app

        expect(other.get_by_role("alert")).to_contain_text("this account is locked until")
        assert other.url.startswith(f"{second}/login")
        other.close()
    other_process.dispose()


def test_after_sign_out_a_kept_copy_of_the_cookie_no_longer_works(
    watched: Page, browser: Browser, dashboard: Served
) -> None:
    sign_in(watched, dashboard.url, "desk", PASSWORDS["desk"])
    expect(watched).to_have_url(f"{dashboard.url}/triage")
    kept = watched.context.cookies()
    assert any(c["name"] == "dashboard_session" and c["httpOnly"] and c["sameSite"] == "Lax" for c in kept)

    watched.get_by_role("button", name="Sign out").click()
    expect(watched.get_by_role("status")).to_have_text("You are signed out.")
    replay = browser.new_context()
    replay.add_cookies(kept)  # type: ignore[arg-type]  # the cookies as the browser had them
    page = replay.new_page()
    page.goto(f"{dashboard.url}/triage")

    assert page.url == f"{dashboard.url}/login?next=/triage"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    replay.close()


def test_a_form_sent_without_its_csrf_token_is_refused(page: Page, dashboard: Served, screenshots: Path) -> None:
    sign_in(page, dashboard.url, "desk", PASSWORDS["desk"])
    expect(page).to_have_url(f"{dashboard.url}/triage")

    page.locator("form[action='/logout'] input[name=csrftoken]").evaluate("input => input.remove()")
    with page.expect_response(f"{dashboard.url}/logout") as sent:
        page.get_by_role("button", name="Sign out").click()

    assert sent.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This form was refused")
    page.screenshot(path=screenshots / "csrf-refused.png")
    page.goto(f"{dashboard.url}/triage")  # still signed in: the forged sign-out did nothing
    expect(page.get_by_role("heading", level=1)).to_have_text("Triage")


def test_an_officer_opening_another_officers_case_by_url_gets_a_404(
    watched: Page, dashboard: Served, screenshots: Path
) -> None:
    sign_in(watched, dashboard.url, "officer", PASSWORDS["officer"])
    expect(watched).to_have_url(f"{dashboard.url}/queue")

    theirs = watched.goto(f"{dashboard.url}/cases/BLR-2026-000002")
    assert theirs is not None and theirs.status == 404
    expect(watched.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(watched.locator("main")).not_to_contain_text("BLR-2026-000002")
    watched.screenshot(path=screenshots / "officer-other-case-404.png")

    mine = watched.goto(f"{dashboard.url}/cases/BLR-2026-000001")
    assert mine is not None and mine.status == 200
    post = watched.locator(".post-text").first
    expect(post).to_contain_text("<script>alert('x')</script>")  # shown as text, never run
    assert watched.locator("main script, main img, main a[href^='javascript']").count() == 0
    watched.screenshot(path=screenshots / "officer-own-case.png", full_page=True)


def test_the_health_page_renders_under_its_content_security_policy(
    watched: Page, dashboard: Served, screenshots: Path
) -> None:
    sign_in(watched, dashboard.url, "commissioner", PASSWORDS["commissioner"])
    watched.goto(f"{dashboard.url}/health")

    expect(watched.get_by_role("heading", level=1)).to_have_text("Health")
    assert watched.evaluate("typeof window.htmx") == "object"  # the vendored htmx loaded from this server
    watched.screenshot(path=screenshots / "health.png", full_page=True)
