"""/health.json and /health on SQLite and PostgreSQL: what monitoring reads without signing in (counts and
times, never an error text or a person), and the page a signed-in user sees."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.db import session_scope
from models.followup import Reply
from models.mentions import audit, ensure_account
from models.routing import OutboxMessage
from models.tables import Mention, PollCursor
from tests.integration.test_dashboard_auth import NOW, add_people, make_app, signed_in
from tests.integration.test_dashboard_pages import add_case

PHONE = "+91 98450 12345"


def cursor(session: Session, account_id: int, **values: Any) -> None:
    """The account's poll cursor (made with the account) as a poll left it."""
    row = session.get(PollCursor, account_id)
    assert row is not None
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)


def seed_health(engine: Engine) -> None:
    case_id = add_case(engine, "BLR-2026-000001", station="s1", holder="L1-A", text=f"call me on {PHONE}")
    with session_scope(engine) as session:
        x = ensure_account(session, platform="x", key="blrcitypolice", external_user_id="1", label="@blrcitypolice")
        fb = ensure_account(
            session, platform="facebook", key="1234", external_user_id="1234", label="Bengaluru City Police"
        )
        cursor(
            session,
            x,
            last_ok_at=NOW - timedelta(seconds=90),
            rate_remaining=0,
            rate_reset_at=NOW + timedelta(minutes=5),
        )
        cursor(session, fb, is_auth_failed=True, failures=3, last_error=f"token expired for {PHONE}")
        for i, (status, at) in enumerate(
            [
                ("pending", NOW),
                ("sending", NOW),
                ("failed", NOW - timedelta(hours=2)),
                ("failed", NOW - timedelta(days=3)),
            ]
        ):
            session.add(
                OutboxMessage(
                    idempotency_key=f"k{i}",
                    purpose="assign",
                    complaint_id=case_id,
                    officer_id="L1-A",
                    subject="s",
                    body=f"to {PHONE}",
                    status=status,
                    next_attempt_at=at,
                )
            )
        mention = session.exec(select(Mention)).first()
        assert mention is not None and mention.id is not None
        for i, status in enumerate(["posted", "pending", "not_allowed"]):
            session.add(
                Reply(
                    idempotency_key=f"r{i}",
                    complaint_id=case_id,
                    mention_id=mention.id,
                    account_id=x,
                    kind="acknowledgement",
                    platform="x",
                    in_reply_to="1",
                    language="en",
                    text="ok",
                    marker=f"m{i}",
                    status=status,
                    next_attempt_at=NOW - timedelta(minutes=5),
                )
            )
        audit(session, "stage.failed", "stage", "classify", at=NOW - timedelta(minutes=10), error="ValueError")
        audit(session, "stage.failed", "stage", "classify", at=NOW - timedelta(hours=3), error="ValueError")


def test_health_json_answers_without_sign_in_and_carries_no_error_text_or_personal_data(engine: Engine) -> None:
    seed_health(engine)

    answer = TestClient(make_app(engine)).get("/health.json")

    assert answer.status_code == 200
    health = answer.json()
    assert PHONE not in answer.text and "token expired" not in answer.text
    assert health["status"] == "problem"
    assert health["notifications"] == {"pending": 1, "sending": 1, "sent": 0, "failed": 2, "failed_24h": 1}
    assert health["replies"] == {
        "pending": 1,
        "sending": 0,
        "posted": 1,
        "failed": 0,
        "not_allowed": 1,
        "failed_24h": 1,
    }
    assert health["stage_errors_1h"] == {"total": 1, "by_stage": {"classify": 1}}
    by_label = {a["label"]: a for a in health["accounts"]}
    assert by_label["@blrcitypolice"] == {
        "platform": "x",
        "label": "@blrcitypolice",
        "last_ok_at": "2026-12-03T08:58:30+00:00",
        "since_last_ok_s": 90,
        "failures": 0,
        "rate_remaining": 0,
        "rate_reset_at": "2026-12-03T09:05:00+00:00",
        "is_token_refused": False,
        "has_error": False,
    }
    assert by_label["Bengaluru City Police"]["is_token_refused"] is True
    assert by_label["Bengaluru City Police"]["has_error"] is True
    assert health["problems"] == [
        "facebook Bengaluru City Police: the platform refuses the token",
        "x @blrcitypolice: rate budget spent until 2026-12-03T09:05:00+00:00",
        "1 notifications failed in the last 24 hours",
        "1 replies failed or were not allowed in the last 24 hours",
        "1 stage errors in the last hour",
    ]


def test_a_quiet_healthy_loop_reads_ok(engine: Engine) -> None:
    with session_scope(engine) as session:
        x = ensure_account(session, platform="x", key="blrcitypolice", external_user_id="1", label="@blrcitypolice")
        cursor(session, x, last_ok_at=NOW, rate_remaining=400)

    health = TestClient(make_app(engine)).get("/health.json").json()

    assert (health["status"], health["problems"]) == ("ok", [])


def test_the_health_page_needs_sign_in_and_shows_the_errors(engine: Engine) -> None:
    seed_health(engine)
    add_people(engine)
    app = make_app(engine)

    anonymous = TestClient(app).get("/health", follow_redirects=False)
    page = signed_in(app, "officer").get("/health")

    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login?next=/health")
    assert page.status_code == 200
    assert "the platform refuses the token" in page.text and f"token expired for {PHONE}" in page.text
