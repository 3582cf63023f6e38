"""The routing stage and the classifier's confidence, on SQLite and PostgreSQL: an unsure case waits at the
desk instead of reaching a station, an unsure emergency is not held back, and a case already placed at a
station stays there when its officer leaves."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.routing import Assignment, OutboxMessage
from models.tables import Complaint
from routing.rules import Policy
from routing.stage import RouteStage
from tests.integration.test_notify_delivery import NOW, add_complaint, context, org_with_channels

HOOK = "json://127.0.0.1:9/x"
ORG = org_with_channels({o: [HOOK] for o in ("L1-A", "L1-B", "L1-NIGHT", "ACP1", "TS-DAY", "TACP")})


def unsure(engine: Engine, confidence: float = 0.3, **kw: Any) -> int:
    complaint_id = add_complaint(engine, **kw)
    with session_scope(engine) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        complaint.confidence = confidence
        session.add(complaint)
    return complaint_id


def routed(engine: Engine, complaint_id: int) -> tuple[str, list[tuple[str, str | None, str | None, str]], set[str]]:
    """The case's status, its assignments (role, officer, unit, rule) and whom a message went to."""
    with session_scope(engine) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        rows = session.exec(select(Assignment).where(Assignment.complaint_id == complaint_id)).all()
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.complaint_id == complaint_id)).all()
        return complaint.status, [(a.role, a.officer_id, a.unit_id, a.rule) for a in rows], {m.officer_id for m in sent}


def test_an_unsure_case_waits_at_the_desk_and_an_unsure_emergency_goes_to_the_station(engine: Engine) -> None:
    theft = unsure(engine)
    accident = unsure(engine, category="road_accident", station="ts", emergency=True)
    sure = unsure(engine, confidence=0.9)

    counts = RouteStage(context(ORG)).run(engine, NOW)

    assert (counts["to_desk"], counts["assigned"]) == (1, 2)
    assert routed(engine, theft) == ("desk", [("desk", None, "desk", "low_confidence_desk")], set())
    assert routed(engine, accident) == (
        "assigned",
        [("assignee", "TS-DAY", "ts", "on_duty"), ("supervisor_copy", "TACP", "tacp", "on_duty")],
        {"TS-DAY", "TACP"},
    )
    assert routed(engine, sure)[0] == "assigned"


def test_a_placed_case_stays_in_its_station_when_its_officer_leaves_however_unsure(engine: Engine) -> None:
    theft = unsure(engine)
    placed = replace(context(ORG), policy=Policy(desk_below_confidence=0.0))  # e.g. before the line was raised
    RouteStage(placed).run(engine, NOW)
    gone = replace(ORG, officers={**ORG.officers, "L1-A": replace(ORG.officers["L1-A"], status="transferred")})

    assert RouteStage(context(gone)).run(engine, NOW + timedelta(hours=12))["reassigned"] == 1

    status, rows, _ = routed(engine, theft)
    assert status == "assigned"
    assert rows[-1] == ("assignee", "L1-NIGHT", "l1", "reassigned_inactive:on_duty")
