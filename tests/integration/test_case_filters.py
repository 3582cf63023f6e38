"""``list_cases`` narrows in the query itself, on SQLite and PostgreSQL: a page reads the cases it can show,
not every case in the database (the case page by docket, the queue by status and holder, the triage list
without the finished ones)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.cases import list_cases
from models.db import session_scope
from models.routing import Assignment
from tests.integration.test_dashboard_queue import held_case
from tests.integration.test_notify_delivery import NOW

HOUR = timedelta(hours=1)


def _cases(engine: Engine) -> None:
    held_case(engine, "BLR-1", officer="L1-A", ack_by=NOW, act_by=NOW + HOUR)
    held_case(engine, "BLR-2", officer="L1-B", ack_by=NOW, act_by=NOW + HOUR)
    held_case(engine, "BLR-3", officer="L1-A", ack_by=NOW, act_by=NOW + HOUR, status="closed")
    with session_scope(engine) as session:  # L1-A handed BLR-2 over earlier: a moved holding is not held
        first = session.exec(select(Assignment).where(Assignment.docket == "BLR-2")).one()
        session.add(Assignment(**{**first.model_dump(exclude={"id"}), "officer_id": "L1-A", "status": "moved"}))


def _dockets(cases: list[dict[str, object]]) -> list[object]:
    return [case["docket"] for case in cases]


def test_each_filter_selects_only_its_cases(engine: Engine) -> None:
    _cases(engine)
    with session_scope(engine) as session:
        assert _dockets(list_cases(session)) == ["BLR-1", "BLR-2", "BLR-3"]
        assert _dockets(list_cases(session, dockets=["BLR-2"])) == ["BLR-2"]
        assert _dockets(list_cases(session, dockets=["BLR-9"])) == []
        assert _dockets(list_cases(session, statuses={"assigned"})) == ["BLR-1", "BLR-2"]
        assert _dockets(list_cases(session, not_statuses={"closed", "merged"})) == ["BLR-1", "BLR-2"]
        assert _dockets(list_cases(session, held_by="L1-A")) == ["BLR-1", "BLR-3"]
        assert _dockets(list_cases(session, held_by="L1-A", statuses={"assigned"})) == ["BLR-1"]
        assert _dockets(list_cases(session, held_by="nobody")) == []


def test_a_narrowed_case_carries_all_its_parts(engine: Engine) -> None:
    _cases(engine)
    with session_scope(engine) as session:
        (whole,) = [c for c in list_cases(session) if c["docket"] == "BLR-2"]
        (narrowed,) = list_cases(session, dockets=["BLR-2"])
    assert narrowed == whole
    assert len(narrowed["assignments"]) == 2 and narrowed["posts"]
