"""``run.py user ...`` as run.py mounts it (a parent Typer app handing in the engine factory), on SQLite and
PostgreSQL: accounts are added, listed, disabled and reset; bad input is one line on stderr and exit 2,
with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from dashboard.cli import user_app
from models.db import make_engine, session_scope
from models.tables import AuditEvent
from models.users import DashboardUser
from tests.integration.test_dashboard_auth import FakeClock, make_app, sign_in

PASSWORD = "a long enough password"


def invoke(engine: Engine, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``run.py user ARGS`` with the database of ``engine``: (exit code, stdout, stderr)."""
    url = engine.url.render_as_string(hide_password=False)
    opened: list[Path | None] = []

    def open_engine(config: Path | None) -> Engine:
        opened.append(config)
        return make_engine(url)

    app = typer.Typer()
    app.add_typer(user_app, name="user", context_settings={"obj": open_engine})
    result = CliRunner().invoke(app, ["user", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def users(engine: Engine) -> dict[str, tuple[str, str | None, str | None, bool]]:
    with session_scope(engine) as session:
        return {
            u.username: (u.role, u.officer_id, u.unit_id, u.is_disabled) for u in session.exec(select(DashboardUser))
        }


def test_accounts_are_added_from_stdin_or_a_prompt_and_listed(engine: Engine) -> None:
    added = invoke(
        engine,
        "add",
        "Asha",
        "--role",
        "officer",
        "--officer",
        "L1-A",
        "--unit",
        "s1",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    prompted = invoke(engine, "add", "ravi", "--role", "desk", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    listed = invoke(engine, "list")

    assert (added[0], added[1]) == (0, "added asha (officer)\n")  # usernames are lowercase
    assert prompted[0] == 0 and PASSWORD not in prompted[1]  # the prompt does not echo
    assert users(engine) == {"asha": ("officer", "L1-A", "s1", False), "ravi": ("desk", None, None, False)}
    lines = listed[1].splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "OFFICER", "UNIT", "STATE", "LAST", "SIGN-IN"]
    assert lines[1].split() == ["asha", "officer", "L1-A", "s1", "active", "never"]
    assert sign_in(TestClient(make_app(engine)), "asha", PASSWORD).status_code == 303
    with session_scope(engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent).where(col(AuditEvent.entity) == "user"))]
    assert kinds[:2] == ["user.added", "user.added"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "asha", "--role", "inspector", "--password-stdin"], PASSWORD, "unknown role 'inspector'"),
        (["add", "asha", "--role", "officer", "--password-stdin"], PASSWORD, "needs --officer ID"),
        (["add", "asha", "--role", "supervisor", "--password-stdin"], PASSWORD, "needs --unit ID"),
        (["add", "asha", "--role", "desk", "--password-stdin"], "short pass", "at least 12 characters"),
        (["add", "asha", "--role", "desk", "--password-stdin"], "asha-is-my-password", "must not contain the username"),
        (["add", "a b", "--role", "desk", "--password-stdin"], PASSWORD, "cannot be a username"),
        (["add", "asha", "--role", "desk", "--password-stdin"], "", "nothing on stdin"),
        (["disable", "nobody"], None, "there is no user 'nobody'"),
        (["reset-password", "nobody", "--password-stdin"], PASSWORD, "there is no user 'nobody'"),
        (["set-role", "nobody", "--role", "desk"], None, "there is no user 'nobody'"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2_with_nothing_written(
    engine: Engine, args: list[str], stdin: str | None, message: str
) -> None:
    code, out, err = invoke(engine, *args, stdin=stdin)

    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert users(engine) == {}


def test_a_username_is_added_once(engine: Engine) -> None:
    assert invoke(engine, "add", "asha", "--role", "desk", "--password-stdin", stdin=PASSWORD)[0] == 0

    code, _, err = invoke(engine, "add", "ASHA", "--role", "commissioner", "--password-stdin", stdin=PASSWORD)

    assert code == 2 and "there is already a user 'asha'" in err
    assert users(engine) == {"asha": ("desk", None, None, False)}


def test_disable_ends_the_session_and_reset_password_lifts_a_lock(engine: Engine) -> None:
    invoke(engine, "add", "asha", "--role", "desk", "--password-stdin", stdin=PASSWORD)
    app = make_app(engine, FakeClock(datetime.now(UTC)))  # the command line runs on the real clock
    client = TestClient(app)
    assert sign_in(client, "asha", PASSWORD).status_code == 303

    assert invoke(engine, "disable", "asha")[0] == 0
    assert client.get("/triage", follow_redirects=False).status_code == 303
    assert sign_in(TestClient(app), "asha", PASSWORD).status_code == 401
    assert invoke(engine, "enable", "asha")[0] == 0
    for _ in range(5):
        sign_in(TestClient(app), "asha", "wrong password!")
    assert sign_in(TestClient(app), "asha", PASSWORD).status_code == 429
    assert "locked until" in invoke(engine, "list")[1]

    assert invoke(engine, "reset-password", "asha", "--password-stdin", stdin="another long password\n")[0] == 0
    assert sign_in(TestClient(app), "asha", PASSWORD).status_code == 401
    assert sign_in(TestClient(app), "asha", "another long password").status_code == 303


def test_set_role_changes_where_the_user_lands(engine: Engine) -> None:
    invoke(engine, "add", "asha", "--role", "desk", "--password-stdin", stdin=PASSWORD)

    code, out, _ = invoke(engine, "set-role", "asha", "--role", "officer", "--officer", "L1-A")

    assert code == 0 and "asha is now officer" in out
    assert sign_in(TestClient(make_app(engine)), "asha", PASSWORD).headers["location"] == "/queue"
