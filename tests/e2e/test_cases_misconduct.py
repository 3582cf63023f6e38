"""``run.py cases`` as a subprocess shows which cases accuse the police: ``misconduct`` in the JSON, M in the
table's flags, beside E (emergency) and V (VIP)."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from models.db import session_scope
from models.tables import Complaint
from routing.stage import RouteStage
from tests.e2e.test_cases_command import ranked_org, run_cases
from tests.integration.test_notify_delivery import NOW, add_complaint, context


def test_cases_shows_the_misconduct_flag_in_json_and_in_the_table(engine: Engine) -> None:
    ids = {
        "plain": add_complaint(engine, category="theft"),
        "refused": add_complaint(engine, category="theft", text="bike stolen and the station refuses to file an FIR"),
        "all": add_complaint(engine, category="violence", station="l3", emergency=True, vip=True),
    }
    with session_scope(engine) as session:
        for name in ("refused", "all"):
            complaint = session.get(Complaint, ids[name])
            assert complaint is not None
            complaint.is_misconduct = True
            session.add(complaint)
    RouteStage(context(ranked_org())).run(engine, NOW)

    cases = {row["id"]: row for row in json.loads(run_cases(engine, "--json"))}
    table = run_cases(engine)

    assert {name: cases[i]["misconduct"] for name, i in ids.items()} == {"plain": False, "refused": True, "all": True}
    line = {name: next(t for t in table.splitlines() if cases[i]["docket"] in t) for name, i in ids.items()}
    flags = {name: text.split()[2] for name, text in line.items()}
    assert flags == {"plain": "-", "refused": "M", "all": "EVM"}
    assert "(misconduct_to_supervisor)" in line["refused"] and "@a1" in line["refused"]
