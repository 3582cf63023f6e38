"""The watch stage tells the desk once when the bot needs a person, and once when it has recovered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.mentions import audit, ensure_account
from models.routing import OutboxMessage
from models.tables import PollCursor
from monitor.watch import WatchSettings, WatchStage
from tests.builders import make_org

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def desk_messages(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "operator_alert")).all()
        return [m.subject for m in sorted(rows, key=lambda m: m.id or 0) if m.officer_id == "DESK1"]


def set_cursor(engine: Engine, account_id: int, **fields: object) -> None:
    with session_scope(engine) as session:
        cursor = session.get(PollCursor, account_id)
        assert cursor is not None
        for name, value in fields.items():
            setattr(cursor, name, value)
        session.add(cursor)


def test_a_silent_account_a_refused_token_and_a_failing_stage_are_told_once_and_their_recovery_once(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        account = ensure_account(session, platform="x", key="blrcitytraffic", external_user_id="1", label="x @blrcitytraffic")
    stage = WatchStage(make_org(), WatchSettings(no_poll_min=15, stage_failures=3, stage_window_min=10))
    set_cursor(engine, account, last_ok_at=NOW - timedelta(minutes=5))
    assert stage.run(engine, NOW) == {"alerts_raised": 0, "alerts_cleared": 0}

    set_cursor(engine, account, is_auth_failed=True)
    with session_scope(engine) as session:
        for minute in (1, 2, 3):
            audit(session, "stage.failed", "stage", "notify", at=NOW + timedelta(minutes=15 + minute), error="RuntimeError")
    later = NOW + timedelta(minutes=20)  # no successful poll for 25 minutes by now
    assert stage.run(engine, later)["alerts_raised"] == 3
    assert stage.run(engine, later + timedelta(minutes=1))["alerts_raised"] == 0  # going on: nothing more
    told = desk_messages(engine)
    assert len(told) == 3 and any("rejects its token" in t for t in told) and any("notify stage failed 3" in t for t in told)
    assert any("no successful poll for 25 minutes" in t for t in told)

    set_cursor(engine, account, is_auth_failed=False, last_ok_at=later + timedelta(minutes=2))
    recovered = stage.run(engine, later + timedelta(minutes=12))  # the stage failures fell out of the window too
    assert recovered == {"alerts_raised": 0, "alerts_cleared": 3}
    assert len(desk_messages(engine)) == 6 and all(t.startswith("Recovered") for t in desk_messages(engine)[3:])
    assert stage.run(engine, later + timedelta(minutes=13)) == {"alerts_raised": 0, "alerts_cleared": 0}
