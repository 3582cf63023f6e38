"""``run.py purge`` on SQLite and PostgreSQL: the personal data of long-finished cases goes, the cases and the
leaderboard's numbers stay; a dry run counts exactly what a run changes and changes nothing; a second run
finds nothing; a purge stopped between or inside batches leaves whole cases; tables it does not know are
left alone."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

import models.purge
from dashboard.leaderboard import Row, measure_rows
from models.corrections import Correction
from models.db import session_scope
from models.followup import Reply
from models.leaderboard import load_facts
from models.purge import purge
from models.retention import PURGE_EVENT, PURGED, PurgeCounts, Retention, cutoffs
from models.routing import OutboxMessage
from models.tables import AuditEvent, Complaint, Mention
from models.users import DashboardSession
from tests.integration.test_dashboard_auth import NOW
from tests.integration.test_leaderboard_pages import DIRECTORY, seed

PURGE_AT = NOW + timedelta(days=350)  # the five cases closed 20 days before NOW are past 365 days; the rest not
CUT = cutoffs(Retention(), PURGE_AT, reopen_window_days=14)
OLD = NOW - timedelta(days=20)
PERSONAL = ("asha_citizen", "Asha Citizen", "98450 12345", "asha@example.org", "10.9.8.7")  # only in old cases
UNCHANGED_TABLES = {"account", "poll_cursor", "assignment", "escalation", "docket_sequence", "dashboard_user",
                    "signed_link_use", "alembic_version", "purge_test_unknown"}
MAY_CHANGE = {  # of the tables purge writes, the columns it may change; every other column stays
    "mention": {"text", "author_handle", "author_name", "author_id", "permalink", "lat", "lon", "referenced_authors", "raw"},
    "reply": {"text"},
    "outbox_message": {"body"},
    "complaint": {"action_note", "rejected_reason"},
    "audit_event": {"detail"},
}


def dockets_id(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {str(d): int(i or 0) for i, d in conn.execute(sa.select(col(Complaint.id), col(Complaint.docket)))}


def populate(engine: Engine) -> None:
    """The leaderboard's cases (five closed with a note 20 days before NOW, one closed lately, three open)
    with the personal data a deployment collects around them."""
    seed(engine)
    ids = dockets_id(engine)
    old, second, recent = ids["BLR-2026-100001"], ids["BLR-2026-100002"], ids["BLR-2026-100006"]
    with session_scope(engine) as session:
        for mention in session.exec(select(Mention)).all():
            mention.raw = {"id": mention.external_id, "text": mention.text, "author_id": "555"}
            mention.stored_at = mention.created_at
            session.add(mention)
        first = session.exec(select(Mention).where(Mention.complaint_id == old)).one()
        first.text = "@blrcitypolice my phone was stolen, call 98450 12345 or asha@example.org"
        first.author_handle, first.author_name, first.author_id = "asha_citizen", "Asha Citizen", "555"
        first.permalink, first.lat, first.lon = "https://x.com/asha_citizen/status/1", 12.9, 77.6
        first.referenced_authors = ["asha_citizen"]
        session.add(first)
        account = first.account_id
        session.execute(sa.update(Reply).where(Reply.complaint_id == old).values(text="@asha_citizen BLR-2026-100001: we acted"))  # type: ignore[arg-type]
        session.execute(sa.update(Complaint).where(Complaint.id == old).values(action_note="Called Asha Citizen on 98450 12345"))  # type: ignore[arg-type]
        message = dict(officer_id="L1-A", subject="BLR-2026-100001: theft", priority=0, status="sent", next_attempt_at=OLD, created_at=OLD)
        session.add(OutboxMessage(idempotency_key="assign:old", purpose="assign", complaint_id=old, body="asha_citizen wrote: call 98450 12345", **message))  # type: ignore[arg-type]
        session.add(OutboxMessage(idempotency_key="assign:recent", purpose="assign", complaint_id=recent, body="recent case", **message))  # type: ignore[arg-type]
        session.add(OutboxMessage(idempotency_key="desk:old", purpose="desk_alert", body="asha@example.org bounced", **message))  # type: ignore[arg-type]
        session.add(OutboxMessage(idempotency_key="desk:due", purpose="desk_alert", body="still to send", **{**message, "status": "pending"}))  # type: ignore[arg-type]
        second_post = session.exec(select(Mention).where(Mention.complaint_id == second)).one()
        session.add(Reply(idempotency_key="thanks:second", complaint_id=second, mention_id=second_post.id or 0, account_id=account,
                          kind="thanks", platform="x", in_reply_to=second_post.external_id, language="en", text="thanks, still to post",
                          marker="m-thanks", status="pending", next_attempt_at=PURGE_AT))
        session.add(Correction(complaint_id=old, docket="BLR-2026-100001", mention_id=first.id, text=first.text,
                               old_category="other", new_category="theft", officer_id="D1", at=OLD))
        session.add(AuditEvent(kind="auth.signin", entity="user", entity_id="desk", actor="desk", at=OLD, detail={"ip": "10.9.8.7", "role": "desk"}))
        session.add(AuditEvent(kind="alert.raised", entity="alert", entity_id="poll:x", at=OLD, detail={"text": "Needs a person: x is silent"}))
        user = int(session.execute(sa.text("SELECT min(id) FROM dashboard_user")).scalar_one())
        for n, ended in enumerate((NOW - timedelta(days=200), PURGE_AT - timedelta(days=50), PURGE_AT + timedelta(hours=1))):
            session.add(DashboardSession(token_hash=f"{n:064d}", user_id=user, created_at=ended - timedelta(hours=12),
                                         last_seen_at=ended - timedelta(hours=1), expires_at=ended, client_ip="10.9.8.7" if n == 0 else "10.0.0.1"))
    with engine.begin() as conn:  # a table of a later migration or another tool: purge must leave it alone
        conn.execute(sa.text("CREATE TABLE purge_test_unknown (id INTEGER PRIMARY KEY, text VARCHAR(100))"))
        conn.execute(sa.text("INSERT INTO purge_test_unknown (id, text) VALUES (1, 'asha_citizen was here')"))


_REFLECTED: dict[str, sa.MetaData] = {}


def dump(engine: Engine) -> dict[str, dict[Any, dict[str, str]]]:
    """Every row of every table, by primary key (or the whole row), each column as text."""
    found: dict[str, dict[Any, dict[str, str]]] = {}
    key = engine.url.render_as_string(hide_password=False)
    if key not in _REFLECTED:  # reflecting is the slow part: once per database (the tables do not change)
        _REFLECTED[key] = sa.MetaData()
        _REFLECTED[key].reflect(engine)
    with engine.connect() as conn:
        for name, table in _REFLECTED[key].tables.items():
            keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
            rows = {}
            for row in conn.execute(sa.select(table)).mappings():
                values = {k: json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else str(v) for k, v in row.items()}
                rows[tuple(values[k] for k in keys)] = values
            found[name] = rows
    return found


def board(engine: Engine, by: str) -> list[tuple[Any, ...]]:
    """The leaderboard's rows with every number and the cases behind it (in docket order: PostgreSQL returns
    rows in any order, and an update moves them)."""
    return [
        (r.key, r.rank, r.weeks, {name: (m.value, sorted(m.cases)) for name, m in r.measures.items()})
        for r in measured(engine, by)
    ]


def measured(engine: Engine, by: str) -> list[Row]:
    since, until = NOW - timedelta(days=30), NOW + timedelta(days=1)
    with session_scope(engine) as session:
        facts = load_facts(session, since=since, until=until, now=NOW)
    rows = measure_rows(facts, by=by, since=since.timestamp(), until=until.timestamp(), now=NOW.timestamp(),  # type: ignore[arg-type]
                        directory=DIRECTORY)
    return sorted(rows, key=lambda r: r.key)


def purge_state(engine: Engine) -> tuple[set[int], dict[int | None, str]]:
    """The cases purged (by their audit event) and each case's post text."""
    with session_scope(engine) as session:
        purged = {int(e.entity_id) for e in session.exec(select(AuditEvent).where(AuditEvent.kind == PURGE_EVENT))}
        texts = {m.complaint_id: m.text for m in session.exec(select(Mention))}
    return purged, texts


def run(engine: Engine, *, dry_run: bool = False, batch_size: int = 500, **kw: Any) -> dict[str, dict[str, int]]:
    done = purge(engine, CUT, now=PURGE_AT, batch_size=batch_size, dry_run=dry_run, **kw)
    return {step: counts.by_table for step, counts in done.items()}


def test_purge_removes_the_personal_data_of_old_cases_and_keeps_cases_numbers_and_audit(engine: Engine) -> None:
    populate(engine)
    before, boards = dump(engine), {by: board(engine, by) for by in ("station", "officer")}
    assert boards["station"] and any(row[3]["resolved"][0] for row in boards["station"])  # resolved cases among them

    dry = run(engine, dry_run=True)
    assert dump(engine) == before, "a dry run changed the database"
    done = run(engine)
    assert done == dry, "the dry run's counts are not the run's"
    # five old cases, minus the one whose reply is still to be posted
    assert done["cases"] == {"cases": 4, "mention": 4, "reply": 8, "outbox_message": 1, "complaint.action_note": 4,
                             "correction (deleted)": 1}
    assert done["raw_payloads"] == {"mention.raw": 5}  # the finished cases' posts, not 100002's (reply in flight)
    assert done["desk_messages"] == {"outbox_message": 1} and done["sessions"] == {"dashboard_session (deleted)": 1}
    assert done["audit_details"] == {"audit_event.detail": 1}

    after = dump(engine)
    for name in UNCHANGED_TABLES & before.keys():
        assert after[name] == before[name], f"{name} changed"
    for name, columns in MAY_CHANGE.items():
        new_keys = after[name].keys() - before[name].keys()
        assert before[name].keys() <= after[name].keys(), f"rows of {name} went"
        for key, row in before[name].items():
            changed = {c for c in row if after[name][key][c] != row[c]}
            assert changed <= columns, (name, key, changed)
        if name == "audit_event":
            assert {after[name][k]["kind"] for k in new_keys} == {PURGE_EVENT} and len(new_keys) == 4
        else:
            assert not new_keys
    text = json.dumps([list(rows.values()) for name, rows in after.items() if name != "purge_test_unknown"])
    assert not [p for p in PERSONAL if p in text], "personal data of an old case is still stored"
    assert [r["text"] for r in after["purge_test_unknown"].values()] == ["asha_citizen was here"]
    assert len(after["dashboard_session"]) == 2 and len(after["correction"]) == 0

    with session_scope(engine) as session:
        ids = dockets_id(engine)
        second = session.exec(select(Mention).where(Mention.complaint_id == ids["BLR-2026-100002"])).one()
        assert second.text == "help" and second.raw  # its thanks is still to be posted: nothing of it goes yet
        recent = session.exec(select(Mention).where(Mention.complaint_id == ids["BLR-2026-100006"])).one()
        assert recent.text == "help" and recent.raw == {}  # closed lately: only the raw copy goes
        old = session.get(Complaint, ids["BLR-2026-100001"])
        assert old is not None and old.action_note == PURGED and old.status == "closed"
        assert session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == "desk:due")).one().body == "still to send"
        alert = session.exec(select(AuditEvent).where(AuditEvent.kind == "alert.raised")).one()
        assert alert.detail["text"] == "Needs a person: x is silent"
    for by, rows in boards.items():
        assert board(engine, by) == rows, f"the leaderboard by {by} changed"

    assert all(not counts for counts in run(engine).values()), "a second purge found more"
    assert dump(engine) == after


def test_a_purge_stopped_between_or_inside_batches_leaves_whole_cases_and_a_rerun_finishes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(engine)

    class Stop(Exception):
        pass

    def stop_after_a_cases_batch_that_purged(step: str, counts: PurgeCounts) -> None:
        if step == "cases" and counts.by_table.get("cases"):
            raise Stop

    with pytest.raises(Stop):  # batches of two: 100001 and 100002 (whose reply is still to go: it waits)
        run(engine, batch_size=2, progress=stop_after_a_cases_batch_that_purged)
    purged, texts = purge_state(engine)
    assert len(purged) == 1
    assert {cid for cid, text in texts.items() if text == PURGED} == purged  # the batch committed whole

    stopped = dump(engine)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise Stop

    monkeypatch.setattr(models.purge, "_mark_purged", fail)  # the last write of a batch fails
    with pytest.raises(Stop):
        run(engine, batch_size=2)
    assert dump(engine) == stopped, "a batch that failed midway left part of its work"
    monkeypatch.undo()
    done = run(engine, batch_size=2)
    assert done["cases"]["cases"] == 3  # the other three of the four
    purged, texts = purge_state(engine)
    assert len(purged) == 4 and {cid for cid, text in texts.items() if text == PURGED} == purged
    assert all(not counts for counts in run(engine).values())
