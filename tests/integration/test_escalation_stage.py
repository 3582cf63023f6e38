"""The escalation stage on SQLite and the real PostgreSQL: each reminder and step written once, also with two
stages racing, each message in the outbox for the right officer, the commissioner's digest once a period.

The force is ``tests.builders.make_org``'s (TS under TACP, TDCP and CP; L1 under ACP1, DCP and CP), every
officer with one channel. Monday 23 November 2026, noon in Bengaluru; a digest period began at 09:00.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.db import session_scope
from models.deadlines import DeadlinePolicy
from models.followup import Escalation
from models.outbox import EMERGENCY_PRIORITY, is_digestible
from models.routing import Assignment, OutboxMessage, next_docket
from models.tables import AuditEvent, Complaint
from monitor.followup.escalation import EscalationSettings, EscalationStage
from tests.builders import make_org

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=IST).astimezone(UTC)
ORG = make_org()
POLICY = DeadlinePolicy(tz=IST)
SETTINGS = EscalationSettings(dashboard_base_url="https://dashboard.example.org/", batch_size=4)


def minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def add_case(engine: Engine, *, officer: str = "TS-DAY", category: str = "traffic_violation", **kw: Any) -> int:
    """A routed case held by ``officer`` since ``assigned_at`` (default NOW); the assignment's id."""
    assigned_at = kw.get("assigned_at", NOW)
    emergency, vip = kw.get("emergency", False), kw.get("vip", False)
    due = POLICY.deadlines_for(category, emergency, vip, assigned_at)
    unit = ORG.officers[officer].unit_id
    with session_scope(engine) as session:
        docket = next_docket(session, prefix="BLR", year=2026)
        complaint = Complaint(
            docket=docket,
            category=category,
            confidence=0.9,
            is_emergency=emergency,
            is_vip=vip,
            place_name="Silk Board junction",
            station_id=unit,
            status=kw.get("status", "assigned"),
            created_at=assigned_at,
        )
        session.add(complaint)
        session.flush()
        assert complaint.id is not None
        assignment = Assignment(
            complaint_id=complaint.id,
            docket=docket,
            officer_id=officer,
            rank="PSI",
            unit_id=unit,
            station_id=unit,
            role="assignee",
            rule="on_duty",
            status=kw.get("assignment_status", "open"),
            assigned_at=assigned_at,
            acknowledge_by=due.acknowledge_by,
            act_by=due.act_by,
            acknowledged_at=kw.get("acknowledged_at"),
        )
        session.add(assignment)
        session.flush()
        assert assignment.id is not None
        return assignment.id


def stage() -> EscalationStage:
    return EscalationStage(ORG, SETTINGS, policy=POLICY)


def outbox(engine: Engine, purpose: str) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == purpose)).all()
        session.expunge_all()
        return sorted(rows, key=lambda m: m.idempotency_key)


def steps(engine: Engine) -> list[tuple[int, str, int, str | None, str | None, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(Escalation).order_by(col(Escalation.id))).all()
        return [(e.assignment_id, e.deadline, e.step, e.holder_id, e.escalated_to, e.unit_id) for e in rows]


def audits(engine: Engine, kind: str) -> int:
    with session_scope(engine) as session:
        return int(session.execute(sa.select(sa.func.count()).where(col(AuditEvent.kind) == kind)).scalar_one())


def test_a_reminder_then_each_step_once_to_the_officer_above(engine: Engine) -> None:
    a = add_case(engine)
    zero = {"reminders": 0, "escalations": 0, "overdue_digests": 0}
    assert stage().run(engine, minutes(89)) == {**zero, "overdue_digests": 1}  # nothing overdue, and it says so
    assert stage().run(engine, minutes(90)) == {**zero, "reminders": 1}
    assert stage().run(engine, minutes(91)) == zero
    [reminder] = outbox(engine, "reminder")
    assert (reminder.idempotency_key, reminder.officer_id) == (f"reminder:{a}:acknowledge:TS-DAY:0", "TS-DAY")
    assert "acknowledge it by Mon 23 Nov 14:00" in reminder.subject and "in 30 min" in reminder.body

    assert stage().run(engine, minutes(120)) == {**zero, "escalations": 1}
    for later in (121, 180, 239):
        assert stage().run(engine, minutes(later)) == zero
    assert stage().run(engine, minutes(245)) == {**zero, "escalations": 1}
    assert steps(engine) == [
        (a, "acknowledge", 1, "TS-DAY", "TACP", "tacp"),
        (a, "acknowledge", 2, "TS-DAY", "TDCP", "tdcp"),
    ]
    first, second = outbox(engine, "escalation")
    assert (first.idempotency_key, first.officer_id) == (f"escalate:{a}:acknowledge:1:TACP:0", "TACP")
    assert (second.officer_id, second.subject) == (
        "TDCP",
        "Escalation: BLR-2026-000001 not acknowledged, 2 h 5 min late",
    )
    for text in (
        "BLR-2026-000001",
        "traffic violation",
        "Silk Board junction",
        "held by PSI Officer TS-DAY (TS)",
        "2 h 5 min late",
    ):
        assert text.lower() in second.body.lower()
    assert "https://dashboard.example.org/cases/BLR-2026-000001" in second.body
    assert (audits(engine, "reminder.sent"), audits(engine, "escalation.step")) == (1, 2)
    for purpose in ("reminder", "escalation", "overdue_digest"):  # never held back for an officer's digest
        assert not is_digestible(purpose=purpose, priority=0, every_min=60)


def test_a_case_that_moved_never_escalates(engine: Engine) -> None:
    acknowledged = add_case(engine, acknowledged_at=minutes(30), status="acknowledged")
    add_case(engine, assignment_status="moved")  # reassigned: the new holder's row carries on
    add_case(engine, status="closed", assignment_status="closed")
    add_case(engine, status="action_taken")
    counts = stage().run(engine, minutes(23 * 60))  # every acknowledgement overdue; no action yet
    assert (counts["reminders"], counts["escalations"]) == (1, 0)
    assert steps(engine) == []
    [reminder] = outbox(engine, "reminder")  # the acknowledged case still has to be acted on
    assert reminder.idempotency_key == f"reminder:{acknowledged}:action:TS-DAY:0"


def test_two_stages_racing_write_each_step_and_message_once(engine: Engine) -> None:
    officers = ["TS-DAY", "L1-A", "TS-NIGHT", "L1-B"] * 3  # TS-NIGHT is off duty at noon: no matter, steps go up
    ids = [
        add_case(engine, officer=o, category="theft" if o.startswith("L1") else "traffic_violation") for o in officers
    ]
    now = minutes(7 * 60)  # three steps due for each: at 2, 4 and 6 hours
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def race() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(stage().run(engine, now))
        except BaseException as exc:  # the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(results) == 2
    written = steps(engine)
    assert len(written) == len(set(w[:3] for w in written)) == 3 * len(ids)
    assert sum(r["escalations"] for r in results) == 3 * len(ids) == audits(engine, "escalation.step")
    assert sum(r["overdue_digests"] for r in results) == 1 == audits(engine, "overdue.digest")
    up = {"TS": ["TACP", "TDCP", "CP"], "L1": ["ACP1", "DCP", "CP"]}
    expected_to = sorted(
        (a, step + 1, up[o[:2]][step]) for a, o in zip(ids, officers, strict=True) for step in range(3)
    )
    messages = outbox(engine, "escalation")
    assert (
        sorted(
            (int(m.idempotency_key.split(":")[1]), int(m.idempotency_key.split(":")[3]), m.officer_id) for m in messages
        )
        == expected_to
    )
    [digest] = outbox(engine, "overdue_digest")
    assert (digest.officer_id, digest.idempotency_key) == ("CP", "overdue:2026-11-23:CP:0")
    assert digest.body.count("/cases/BLR-2026-") == len(ids)


def test_an_emergency_goes_first_and_the_commissioner_hears_of_it_once_a_period(engine: Engine) -> None:
    a = add_case(engine, officer="L1-A", category="violence", emergency=True)
    add_case(engine, officer="L1-B", category="theft", assigned_at=minutes(-3 * 60))  # 60 minutes late
    assert stage().run(engine, minutes(10))["escalations"] == 2  # the emergency's step 1, the theft's step 1
    [emergency] = [m for m in outbox(engine, "escalation") if m.idempotency_key.startswith(f"escalate:{a}:")]
    assert (emergency.officer_id, emergency.priority) == ("ACP1", EMERGENCY_PRIORITY)
    assert emergency.subject.startswith("Escalation: BLR-2026-000001 not acknowledged")
    [digest] = outbox(engine, "overdue_digest")
    assert (digest.subject, digest.priority) == ("Overdue cases on 23 Nov 2026: 2", 0)
    assert digest.body.index("BLR-2026-000002") < digest.body.index("BLR-2026-000001")  # the latest first
    assert "not acknowledged, 1 h 10 min late" in digest.body
    assert stage().run(engine, minutes(3 * 24 * 60))["overdue_digests"] == 0  # the same period
    assert stage().run(engine, minutes(14 * 24 * 60))["overdue_digests"] == 1  # the next, on 7 December
    assert [m.idempotency_key for m in outbox(engine, "overdue_digest")] == [
        "overdue:2026-11-23:CP:0",
        "overdue:2026-12-07:CP:0",
    ]
