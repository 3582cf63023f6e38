"""The routing stage on real storage: dockets, statuses, the desk and referrals, reassignment."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.routing import Assignment, OutboxMessage, next_docket
from models.tables import AuditEvent, Complaint
from routing.stage import RouteStage
from tests.integration.test_notify_delivery import NOW, add_complaint, context, org_with_channels

HOOK = "json://127.0.0.1:9/x"


def test_docket_numbers_count_up_per_year_across_transactions(engine: Engine) -> None:
    dockets = []
    for year in (2026, 2026, 2026, 2027):
        with session_scope(engine) as session:
            dockets.append(next_docket(session, prefix="BLR", year=year))
    assert dockets == ["BLR-2026-000001", "BLR-2026-000002", "BLR-2026-000003", "BLR-2027-000001"]


def test_each_outcome_sets_the_status_and_names_the_rule(engine: Engine) -> None:
    org = org_with_channels({o: [HOOK] for o in ("L1-A", "L1-B", "ACP1", "ACP2", "DCP", "TS-DAY", "TDCP")})
    ids = {
        "theft": add_complaint(engine, category="theft"),
        "no_place": add_complaint(engine, category="theft", station=None),
        "referral": add_complaint(engine, category="civic_referral", station=None, text="power cut again, BESCOM?"),
        "thanks": add_complaint(engine, category="appreciation", station=None),
        "misconduct": add_complaint(engine, category="officer_misconduct", station="l3"),
        "vip": add_complaint(engine, category="traffic_congestion", station="ts", vip=True),
    }
    counts = RouteStage(context(org)).run(engine, NOW)
    assert counts == {"assigned": 3, "to_desk": 2, "referred": 1, "closed": 0, "reassigned": 0}
    assert RouteStage(context(org)).run(engine, NOW)["assigned"] == 0  # nothing is routed twice
    with session_scope(engine) as session:
        status = {k: session.get(Complaint, i).status for k, i in ids.items()}  # type: ignore[union-attr]
        rows = session.exec(select(Assignment)).all()
        by_case = {
            k: [(a.role, a.officer_id, a.rule, a.authority) for a in rows if a.complaint_id == i]
            for k, i in ids.items()
        }
        dockets = {session.get(Complaint, i).docket for i in ids.values()}  # type: ignore[union-attr]
        keys = sorted(m.idempotency_key.rsplit(":", 2)[1] for m in session.exec(select(OutboxMessage)).all())
    assert status == {
        "theft": "assigned",
        "no_place": "desk",
        "referral": "referral",
        "thanks": "desk",
        "misconduct": "assigned",
        "vip": "assigned",
    }
    assert by_case["referral"] == [("referral", None, "civic_referral", "BESCOM")]
    assert by_case["no_place"] == [("desk", None, "no_station", None)]
    assert by_case["misconduct"] == [("assignee", "ACP2", "misconduct_to_supervisor", None)]
    assert by_case["vip"] == [("assignee", "TS-DAY", "on_duty", None), ("dcp_copy", "TDCP", "on_duty", None)]
    assert len(dockets) == 6
    assert keys == ["ACP2", "L1-A", "TDCP", "TS-DAY"]  # one message per recipient and channel


def test_a_transferred_officers_open_cases_move_to_whoever_is_on_duty(engine: Engine) -> None:
    org = org_with_channels({o: [HOOK] for o in ("L1-A", "L1-B", "L1-NIGHT")})
    complaint_id = add_complaint(engine, category="theft")
    RouteStage(context(org)).run(engine, NOW)
    moved_org = replace(org, officers={**org.officers, "L1-A": replace(org.officers["L1-A"], status="transferred")})
    later = NOW + timedelta(hours=12)  # half past midnight in Bengaluru: the night shift

    counts = RouteStage(context(moved_org)).run(engine, later)

    assert counts["reassigned"] == 1
    assert RouteStage(context(moved_org)).run(engine, later)["reassigned"] == 0
    with session_scope(engine) as session:
        rows = session.exec(select(Assignment).order_by(Assignment.id)).all()  # type: ignore[arg-type]
        assert [(a.officer_id, a.status) for a in rows] == [("L1-A", "moved"), ("L1-NIGHT", "open")]
        assert rows[1].rule == "reassigned_inactive:on_duty" and rows[1].docket == rows[0].docket
        assert rows[1].act_by == rows[0].act_by  # moving a case does not buy time
        keys = [m.idempotency_key for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()]  # type: ignore[arg-type]
        assert keys == [f"assign:{complaint_id}:L1-A:0", f"reassign:{complaint_id}:L1-NIGHT:0"]
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "complaint.reassigned")).one()
        assert (event.detail["from_officer"], event.detail["to_officer"]) == ("L1-A", "L1-NIGHT")


def test_emergencies_are_routed_first_and_their_messages_go_first(engine: Engine) -> None:
    org = org_with_channels({o: [HOOK] for o in ("L1-A", "L1-B", "ACP1")})
    calm = add_complaint(engine, category="theft")
    urgent = add_complaint(engine, category="violence", emergency=True)
    RouteStage(replace(context(org), batch_size=1)).run(engine, NOW)
    with session_scope(engine) as session:
        first = session.exec(select(Assignment).order_by(Assignment.id)).first()  # type: ignore[arg-type]
        messages = session.exec(select(OutboxMessage)).all()
    assert first is not None and first.complaint_id == urgent
    assert {(m.complaint_id, m.priority) for m in messages} == {(urgent, 2), (calm, 0)}
    assert {m.officer_id for m in messages if m.complaint_id == urgent} == {"L1-A", "ACP1"}
