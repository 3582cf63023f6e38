"""``run.py cases`` as a process of its own (forked by :mod:`tests.runfork`): each assignment names the officer, their
rank and their station or office."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.engine import Engine

from routing.people import Organisation
from routing.stage import RouteStage
from tests import runfork
from tests.builders import make_org
from tests.conftest import pg_url_for
from tests.integration.test_notify_delivery import NOW, add_complaint, context

RANKS = {"L1-A": "Sub-Inspector", "L1-NIGHT": "Head Constable", "ACP2": "ACP", "TS-DAY": "ASI", "TDCP": "DCP"}


def ranked_org() -> Organisation:
    base = make_org()
    return make_org(officers=[replace(o, rank=RANKS.get(o.id, o.rank)) for o in base.officers.values()])


def run_cases(engine: Engine, *args: str) -> str:
    done = runfork.run(["cases", *args], timeout=120, env={**os.environ, "DATABASE_URL": pg_url_for(engine)})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_cases_shows_each_assignees_rank_and_unit_in_json_and_in_the_table(engine: Engine) -> None:
    org = ranked_org()
    ids = {
        "theft": add_complaint(engine, category="theft"),
        "misconduct": add_complaint(engine, category="officer_misconduct", station="l3"),
        "vip": add_complaint(engine, category="traffic_congestion", station="ts", vip=True),
        "desk": add_complaint(engine, category="theft", station=None),
    }
    RouteStage(context(org)).run(engine, NOW)
    transferred = replace(org, officers={**org.officers, "L1-A": replace(org.officers["L1-A"], status="transferred")})
    RouteStage(context(transferred)).run(engine, NOW + timedelta(hours=12))  # the night shift takes L1-A's case

    cases = {row["id"]: row for row in json.loads(run_cases(engine, "--json"))}
    table = run_cases(engine)

    def held(name: str) -> list[tuple[str | None, ...]]:
        return [(a["officer_id"], a["rank"], a["unit"], a["role"], a["status"]) for a in cases[ids[name]]["assignments"]]

    assert held("theft") == [
        ("L1-A", "Sub-Inspector", "l1", "assignee", "moved"),
        ("L1-NIGHT", "Head Constable", "l1", "assignee", "open"),
    ]
    assert held("misconduct") == [("ACP2", "ACP", "a2", "assignee", "open")]
    assert held("vip") == [("TS-DAY", "ASI", "ts", "assignee", "open"), ("TDCP", "DCP", "tdcp", "dcp_copy", "open")]
    assert held("desk") == [(None, None, "desk", "desk", "open")]
    line = {name: next(t for t in table.splitlines() if cases[i]["docket"] in t) for name, i in ids.items()}
    assert "L1-NIGHT Head Constable @l1 (reassigned_inactive:on_duty)" in line["theft"]
    assert "ACP2 ACP @a2 (misconduct_to_supervisor)" in line["misconduct"]
    assert "TS-DAY ASI @ts (on_duty)" in line["vip"]
    assert "@" not in line["desk"].split("'")[0]  # nobody holds a desk case
