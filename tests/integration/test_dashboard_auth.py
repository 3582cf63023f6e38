"""Signing in to the dashboard through the real app (FastAPI's TestClient) on SQLite and PostgreSQL: where
each role lands, the cookie, lock-out across two app instances, sessions that end for good, CSRF and the
Sec-Fetch-Site check, the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dashboard import passwords
from dashboard.app import create_app
from dashboard.settings import DashboardSettings
from dashboard.users import reset_password, set_disabled, set_role
from models import users as store
from models.db import make_engine, session_scope
from models.secret import Secret
from models.tables import AuditEvent

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SECRET = Secret("a test signing secret that is long enough")
PASSWORDS = {
    "commissioner": "brass lamp on the hill",
    "supervisor": "seven green ferries",
    "officer": "night patrol coffee 42",
    "desk": "quiet monsoon keyboard",
}
CSRF_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')


@dataclass
class FakeClock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def add_people(engine: Engine, *, officer_id: str = "L1-A", unit_id: str = "d1") -> None:
    """One account per role (username = role, password from PASSWORDS); the officer is ``officer_id``, the
    supervisor oversees ``unit_id``. The hashes are made once per run: each costs a tenth of a second."""
    extra: dict[str, dict[str, Any]] = {"officer": {"officer_id": officer_id}, "supervisor": {"unit_id": unit_id}}
    with session_scope(engine) as session:
        for role, password in PASSWORDS.items():
            store.add_user(
                session, username=role, role=role, password_hash=hashed(password), now=NOW, **extra.get(role, {})
            )


@cache
def hashed(password: str) -> str:
    return passwords.hash_password(password)


def make_app(engine: Engine, clock: FakeClock | None = None, **kwargs: Any) -> FastAPI:
    return create_app(engine, secret_key=SECRET, clock=clock or FakeClock(), **kwargs)


def csrf_token(client: TestClient, path: str = "/login") -> str:
    found = CSRF_FIELD.search(client.get(path).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str | None = None, **extra: str) -> Any:
    """The answer to the sign-in form (an httpx or httpx2 response: the TestClient takes whichever is there)."""
    data = {"username": username, "password": password or PASSWORDS[username], "csrftoken": csrf_token(client), **extra}
    return client.post("/login", data=data, follow_redirects=False)


def signed_in(app: FastAPI, username: str, **client_kwargs: Any) -> TestClient:
    client = TestClient(app, **client_kwargs)
    assert sign_in(client, username).status_code == 303
    return client


def audit_kinds(engine: Engine) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.kind).startswith("auth.")).order_by(col(AuditEvent.id))
        ).all()
        return [(e.kind, e.entity_id) for e in rows]


@pytest.mark.parametrize(
    ("username", "landing"),
    [("commissioner", "/leaderboard"), ("supervisor", "/leaderboard"), ("officer", "/queue"), ("desk", "/triage")],
)
def test_each_role_lands_on_its_page_with_a_cookie_scripts_cannot_read(
    engine: Engine, username: str, landing: str
) -> None:
    add_people(engine)
    client = TestClient(make_app(engine))

    answer = sign_in(client, username)

    assert (answer.status_code, answer.headers["location"]) == (303, landing)
    [cookie] = [c for c in answer.headers.get_list("set-cookie") if c.startswith("dashboard_session=")]
    assert {"HttpOnly", "SameSite=lax", "Path=/"} <= {p.strip() for p in cookie.split(";")}
    assert "Secure" not in cookie  # plain HTTP on this test server
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 40
    page = client.get(landing)
    assert page.status_code == 200 and f"{username} <small>({username})</small>" in page.text
    assert audit_kinds(engine) == [("auth.signin", username)]


def test_over_https_both_cookies_are_secure(engine: Engine) -> None:
    add_people(engine)
    client = TestClient(make_app(engine), base_url="https://dashboard.test")

    cookies = sign_in(client, "desk").headers.get_list("set-cookie")
    login_page_cookies = TestClient(make_app(engine), base_url="https://dashboard.test").get("/login")

    assert any(c.startswith("dashboard_session=") and "Secure" in c for c in cookies)
    assert "Secure" in login_page_cookies.headers["set-cookie"]  # the CSRF cookie


def test_after_sign_in_only_a_path_on_this_site_is_followed(engine: Engine) -> None:
    add_people(engine)
    client = TestClient(make_app(engine))

    assert sign_in(client, "desk", next="/health").headers["location"] == "/health"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        assert sign_in(TestClient(make_app(engine)), "desk", next=elsewhere).headers["location"] == "/triage"


def test_a_page_asked_for_before_sign_in_comes_back_after_it(engine: Engine) -> None:
    add_people(engine)
    client = TestClient(make_app(engine))

    first = client.get("/health", follow_redirects=False)

    assert (first.status_code, first.headers["location"]) == (303, "/login?next=/health")
    form = client.get(first.headers["location"]).text
    assert 'name="next" value="/health"' in form


def test_five_wrong_passwords_lock_the_account_in_every_process_until_the_lock_ends(engine: Engine) -> None:
    add_people(engine)
    clock = FakeClock()
    other_process = make_engine(engine.url.render_as_string(hide_password=False))  # its own connections
    first, second = TestClient(make_app(engine, clock)), TestClient(make_app(other_process, clock))

    answers = [sign_in(first if i % 2 else second, "officer", "not the password") for i in range(4)]
    fifth = sign_in(first, "officer", "not the password")
    sixth_with_the_right_password = sign_in(second, "officer")

    assert [a.status_code for a in answers] == [401] * 4
    assert all("Wrong username or password." in a.text for a in answers)
    assert fifth.status_code == 429 and "locked until 2026-12-03 09:15 UTC" in fifth.text
    assert sixth_with_the_right_password.status_code == 429  # the lock holds whatever the password
    clock.advance(minutes=14)
    assert sign_in(first, "officer").status_code == 429
    clock.advance(minutes=1)
    assert sign_in(first, "officer").status_code == 303
    kinds = audit_kinds(engine)
    assert kinds.count(("auth.failed", "officer")) == 7 and kinds.count(("auth.locked", "officer")) == 1
    assert kinds[-1] == ("auth.signin", "officer")
    other_process.dispose()


def test_a_sign_in_resets_the_count_of_failures(engine: Engine) -> None:
    add_people(engine)
    client = TestClient(make_app(engine))
    for _ in range(4):
        sign_in(client, "desk", "wrong wrong wrong")
    assert sign_in(client, "desk").status_code == 303
    assert [sign_in(client, "desk", "wrong wrong wrong").status_code for _ in range(4)] == [401] * 4


def test_the_audit_trail_never_holds_a_password(engine: Engine) -> None:
    add_people(engine)
    client = TestClient(make_app(engine))
    sign_in(client, "desk", "my-wrong-guess-123")
    sign_in(client, "my-password-in-the-name-box", "x")
    sign_in(client, "desk")

    with session_scope(engine) as session:
        everything = repr([(e.entity_id, e.actor, e.detail) for e in session.exec(select(AuditEvent)).all()])
    assert "my-wrong-guess-123" not in everything and PASSWORDS["desk"] not in everything
    assert "my-password-in-the-name-box" not in everything  # an unknown username is not written down


def test_unknown_disabled_and_locked_users_cost_one_password_check_like_anyone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_people(engine)
    set_disabled(engine, username="supervisor", is_disabled=True, now=NOW)
    app = make_app(engine, settings=DashboardSettings(max_failures=1))
    sign_in(TestClient(app), "officer", "wrong-once")  # locks the officer
    checks: list[str] = []
    real = passwords._HASHER.verify_and_update

    def counted(password: str | bytes, password_hash: str | bytes) -> tuple[bool, str | None]:
        checks.append(str(password))
        return real(password, password_hash)

    monkeypatch.setattr(passwords._HASHER, "verify_and_update", counted)

    answers = {
        name: sign_in(TestClient(app), name, PASSWORDS.get(name, "some guess"))
        for name in ("nobody-at-all", "supervisor", "officer", "desk", "x" * 300)
    }

    assert len(checks) == 5  # the disabled supervisor and the locked officer typed their right passwords
    assert {name: a.status_code for name, a in answers.items()} == {
        "nobody-at-all": 401,
        "supervisor": 401,
        "officer": 429,
        "desk": 303,
        "x" * 300: 401,
    }
    assert answers["nobody-at-all"].text.count("Wrong username or password.") == 1


def test_signing_out_ends_the_session_and_a_kept_copy_of_the_cookie_is_refused(engine: Engine) -> None:
    add_people(engine)
    app = make_app(engine)
    client = signed_in(app, "desk")
    kept = client.cookies.get("dashboard_session")
    assert kept

    out = client.post("/logout", data={"csrftoken": csrf_token(client, "/triage")}, follow_redirects=False)
    replay = TestClient(app, cookies={"dashboard_session": kept}).get("/triage", follow_redirects=False)

    assert (out.status_code, out.headers["location"]) == (303, "/login?signed_out=1")
    assert 'dashboard_session=""' in out.headers["set-cookie"]
    assert (replay.status_code, replay.headers["location"]) == (303, "/login?next=/triage")
    assert audit_kinds(engine)[-1] == ("auth.signout", "desk")


@pytest.mark.parametrize("change", ["role", "disable", "password"])
def test_a_role_change_disabling_or_a_password_reset_ends_the_sessions_at_once(engine: Engine, change: str) -> None:
    add_people(engine)
    client = signed_in(make_app(engine), "desk")
    assert client.get("/triage").status_code == 200

    if change == "role":
        set_role(engine, username="desk", role="officer", officer_id="L1-B", unit_id=None, now=NOW)
    elif change == "disable":
        set_disabled(engine, username="desk", is_disabled=True, now=NOW)
    else:
        reset_password(engine, username="desk", password="a brand new password", now=NOW)

    assert client.get("/triage", follow_redirects=False).headers["location"] == "/login?next=/triage"


def test_a_session_ends_when_idle_and_in_any_case_after_its_shift(engine: Engine) -> None:
    add_people(engine)
    clock = FakeClock()
    app = make_app(engine, clock, settings=DashboardSettings(session_idle_min=30, session_max_h=2))
    client = signed_in(app, "desk")

    statuses = []
    for _ in range(5):  # used every 25 minutes: never idle, but past its two hours at the fifth
        clock.advance(minutes=25)
        statuses.append(client.get("/triage", follow_redirects=False).status_code)
    assert statuses == [200, 200, 200, 200, 303]
    idle = signed_in(app, "desk")
    clock.advance(minutes=31)
    assert idle.get("/triage", follow_redirects=False).status_code == 303


def test_a_form_without_its_csrf_token_is_refused(engine: Engine) -> None:
    add_people(engine)
    app = make_app(engine)
    client = signed_in(app, "desk")
    fresh = TestClient(app)
    fresh.get("/login")  # has the CSRF cookie, but will not send the field

    no_field = client.post("/logout", data={}, follow_redirects=False)
    wrong_field = client.post("/logout", data={"csrftoken": "forged"}, follow_redirects=False)
    login_without = fresh.post("/login", data={"username": "desk", "password": PASSWORDS["desk"]})
    no_cookies_at_all = TestClient(app).post("/login", data={"username": "desk", "password": PASSWORDS["desk"]})

    for refused in (no_field, wrong_field, login_without, no_cookies_at_all):
        assert refused.status_code == 403 and "This form was refused" in refused.text
    assert client.get("/triage").status_code == 200  # the session did not end
    assert audit_kinds(engine) == [("auth.signin", "desk")]  # nothing reached the sign-in


def test_a_form_the_browser_says_came_from_another_site_is_refused(engine: Engine) -> None:
    add_people(engine)
    client = TestClient(make_app(engine))
    token = csrf_token(client)
    data = {"username": "desk", "password": PASSWORDS["desk"], "csrftoken": token}

    for site in ("cross-site", "same-site"):
        refused = client.post("/login", data=data, headers={"Sec-Fetch-Site": site}, follow_redirects=False)
        assert refused.status_code == 403
    accepted = client.post("/login", data=data, headers={"Sec-Fetch-Site": "same-origin"}, follow_redirects=False)
    assert accepted.status_code == 303


def test_every_answer_carries_the_security_headers(engine: Engine) -> None:
    add_people(engine)
    client = signed_in(make_app(engine), "commissioner")

    for path in ("/login", "/leaderboard", "/health", "/health.json", "/cases/NOPE", "/static/dashboard.css"):
        headers = client.get(path).headers
        assert headers["content-security-policy"].startswith("default-src 'self'"), path
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert (headers.get("cache-control") == "no-store") is (not path.startswith("/static/")), path
