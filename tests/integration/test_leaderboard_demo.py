"""The leaderboard's numbers on the demo's database equal those recomputed here from the stored rows.

``run.py demo --once`` leaves a realistic database: officers acting promptly, late or never, escalations,
reopenings. The desk then reassigns two cases whose acknowledgement deadline had passed (the new holder
acknowledges) and closes one without any action reported. The recomputation below reads the rows with the
ORM and works in datetimes: it shares no code with ``dashboard.leaderboard`` or ``models.leaderboard``.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assembly.city import load_city
from assembly.dashboard_data import leaderboard_inputs
from assembly.followup import open_case_actions
from assembly.settings import load_settings
from dashboard.leaderboard import CSV_HEADER, Directory, Rules
from dashboard.leaderboard_pages import Query, Scope, board_csv, build_board, parse_query
from models.db import make_engine, session_scope
from models.followup import Escalation, Reply
from models.routing import Assignment
from models.tables import AuditEvent, Complaint, Mention
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
CONFIG = ROOT / "config.toml"
RESOLVED_AFTER = timedelta(days=14)
HELD = {"assigned", "acknowledged", "reopen_requested"}


@dataclass(frozen=True)
class Demo:
    engine: Engine
    directory: Directory
    started: datetime
    ended: datetime
    reassigned: tuple[tuple[str, str, str], ...]  # docket, first holder, new holder
    closed_without_note: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("leaderboard-demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "demo", "--once", "--database-url", url,
         "--replies", str(folder / "replies.jsonl"), "--notifications", str(folder / "notifications.jsonl")],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    engine = make_engine(url)
    settings = load_settings(CONFIG, os.environ, need_platform_secrets=False)
    jurisdictions, organisation, _ = load_city(settings, os.environ)
    with session_scope(engine) as session:
        started = session.exec(select(sa.func.min(Assignment.assigned_at))).one()
        ended = session.exec(select(sa.func.max(AuditEvent.at))).one()
        waiting = session.exec(
            select(Complaint, Assignment)
            .join(Assignment, col(Assignment.complaint_id) == col(Complaint.id))
            .where(Complaint.status == "assigned", col(Complaint.is_misconduct).is_(False), Assignment.status == "open",
                   Assignment.role == "assignee", col(Assignment.acknowledge_by) < ended)
            .order_by(col(Complaint.id))
        ).all()
        acknowledged = session.exec(select(Complaint).where(Complaint.status == "acknowledged").order_by(col(Complaint.id))).first()
    assert started is not None and ended is not None and len(waiting) >= 2 and acknowledged is not None
    desk = organisation.desk_officers()[0].id
    reassigned = []
    with open_case_actions(CONFIG, os.environ, database_url=url) as actions:
        for complaint, held in waiting[:2]:
            assert complaint.docket is not None and held.officer_id is not None
            station = complaint.station_id or ""
            other = next(o.id for o in organisation.members(station) if o.id != held.officer_id)
            actions.reassign(complaint.docket, officer_id=desk, to_officer=other, reason="on leave", now=ended + timedelta(hours=1))
            actions.acknowledge(complaint.docket, officer_id=other, now=ended + timedelta(hours=2))
            reassigned.append((complaint.docket, held.officer_id, other))
        assert acknowledged.docket is not None
        actions.close(acknowledged.docket, officer_id=desk, reason="duplicate of a phone complaint", now=ended + timedelta(hours=1))
    yield Demo(engine, leaderboard_inputs(organisation, jurisdictions), started, ended, tuple(reassigned), acknowledged.docket)
    engine.dispose()


# -- the recomputation, from the rows --------------------------------------------------------------------------
def nearest(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[max(1, math.ceil(p * len(values))) - 1]


def shown(value: float | None, *, whole: bool = False) -> str:
    if value is None:
        return ""
    return str(int(value)) if whole else f"{round(value, 6):.1f}"


def hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def recompute(session: Session, *, since: datetime, until: datetime, now: datetime,
              group: Callable[[Assignment, Complaint], str | None]) -> dict[str, dict[str, str]]:
    complaints = {c.id: c for c in session.exec(select(Complaint)).all()}
    first_post: dict[int, datetime] = {}
    for m in session.exec(select(Mention).where(col(Mention.complaint_id).is_not(None))).all():
        assert m.complaint_id is not None
        first_post[m.complaint_id] = min(first_post.get(m.complaint_id, m.created_at), m.created_at)
    held: dict[int, list[Assignment]] = defaultdict(list)
    for a in session.exec(select(Assignment).where(Assignment.role == "assignee", col(Assignment.officer_id).is_not(None))).all():
        held[a.complaint_id].append(a)
    steps: dict[int, int] = defaultdict(int)
    for e in session.exec(select(Escalation)).all():
        holder = next((a for a in held[e.complaint_id] if a.id == e.assignment_id), None)
        if holder is not None and holder.officer_id == e.holder_id:
            steps[e.assignment_id] += 1
    replies = session.exec(select(Reply).where(Reply.kind == "action_taken", Reply.status == "posted")).all()
    reopens: dict[int, list[datetime]] = defaultdict(list)
    for ev in session.exec(select(AuditEvent).where(AuditEvent.kind == "case.reopen")).all():
        reopens[int(ev.entity_id)].append(ev.at)

    found: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for cid, holdings in held.items():
        case = complaints[cid]
        holdings.sort(key=lambda a: (a.assigned_at, a.id or 0))
        acks = [a for a in holdings if a.acknowledged_at is not None]
        acts = [a for a in holdings if a.acted_at is not None]
        first_ack = min(acks, key=lambda a: a.acknowledged_at or now) if acks else None
        first_act = min(acts, key=lambda a: a.acted_at or now) if acts else None
        last_act = max(acts, key=lambda a: a.acted_at or now) if acts else None
        posted = first_post.get(cid, case.created_at)
        resolved = (
            last_act is not None and last_act.acted_at is not None and case.status == "closed"
            and bool(case.action_note) and case.closed_at is not None and case.closed_at <= now - RESOLVED_AFTER
            and last_act.acted_at <= case.closed_at and all(last_act.acted_at > r for r in reopens[cid])
        )
        mine_by: dict[str, list[Assignment]] = defaultdict(list)
        for a in holdings:
            key = group(a, case)
            if key is not None:
                mine_by[key].append(a)
        for key, mine in mine_by.items():
            out = found[key]
            for a in mine:
                if a.status == "open" and case.status in HELD:
                    ack_late = (a.acknowledge_by is not None and a.acknowledge_by <= now and a.acknowledged_at is None
                                and case.status in ("assigned", "reopen_requested"))
                    act_late = a.act_by is not None and a.act_by <= now and a.acted_at is None
                    if ack_late or act_late:
                        out["overdue"].append(case.docket)
            if not since <= mine[0].assigned_at < until:
                continue
            out["assigned"].append(case.docket)
            for a in mine:
                due = a.acknowledge_by
                if due is not None and due >= a.assigned_at:
                    if a.acknowledged_at is not None and a.acknowledged_at <= due:
                        out["ack_due"].append(True)
                    elif due < (a.ended_at or now):
                        out["ack_due"].append(False)
                if a.acknowledged_at is not None:
                    out["ack_officer"].append(hours(a.acknowledged_at, a.assigned_at))
                if a.acted_at is not None:
                    out["act_officer"].append(hours(a.acted_at, a.assigned_at))
                out["escalations"].extend([case.docket] * steps[a.id or 0])
            ids = {a.id for a in mine}
            if first_ack is not None and first_ack.id in ids and first_ack.acknowledged_at is not None:
                out["ack_citizen"].append(hours(first_ack.acknowledged_at, posted))
            if first_act is not None and first_act.id in ids and first_act.acted_at is not None:
                out["act_citizen"].append(hours(first_act.acted_at, posted))
            if resolved and last_act is not None and last_act.id in ids:
                out["resolved"].append(case.docket)
            my_acts = [a.acted_at for a in mine if a.acted_at is not None]
            if my_acts:
                out["reopened"].append(any(r > min(my_acts) for r in reopens[cid]))
            for reply in (r for r in replies if r.complaint_id == cid):
                before = [a for a in acts if a.acted_at is not None and a.acted_at <= reply.created_at]
                if before and max(before, key=lambda a: a.acted_at or now).id in ids:
                    out["replies"].append(case.docket)

    def share(flags: list[bool]) -> float | None:
        return 100.0 * sum(flags) / len(flags) if flags else None

    table = {}
    for key, out in found.items():
        table[key] = {
            "Assigned": shown(len(out["assigned"]), whole=True),
            "Acknowledged in time (%)": shown(share(out["ack_due"])),
            "To acknowledge, officer, median (h)": shown(nearest(out["ack_officer"], 0.5)),
            "To acknowledge, officer, 90th pct (h)": shown(nearest(out["ack_officer"], 0.9)),
            "To acknowledge, citizen, median (h)": shown(nearest(out["ack_citizen"], 0.5)),
            "To acknowledge, citizen, 90th pct (h)": shown(nearest(out["ack_citizen"], 0.9)),
            "To act, officer, median (h)": shown(nearest(out["act_officer"], 0.5)),
            "To act, officer, 90th pct (h)": shown(nearest(out["act_officer"], 0.9)),
            "To act, citizen, median (h)": shown(nearest(out["act_citizen"], 0.5)),
            "To act, citizen, 90th pct (h)": shown(nearest(out["act_citizen"], 0.9)),
            "Resolved": shown(len(out["resolved"]), whole=True),
            "Reopened (%)": shown(share(out["reopened"])),
            "Escalations": shown(len(out["escalations"]), whole=True),
            "Replies posted": shown(len(out["replies"]), whole=True),
            "Overdue now": shown(len(out["overdue"]), whole=True),
        }
    return table


def board_table(demo: Demo, query: Query, now: datetime) -> dict[str, dict[str, str]]:
    board = build_board(demo.engine, query, scope=Scope(), directory=demo.directory, rules=Rules(), tz=UTC, now=now)
    lines = board_csv(board).splitlines()
    assert lines[0] == ",".join(f'"{h}"' if "," in h else h for h in CSV_HEADER)
    rows = [dict(zip(CSV_HEADER, r, strict=True)) for r in csv.reader(lines[1:])]
    assert all((r["Rank"] == "") == (int(r["Assigned"]) < Rules().min_cases) for r in rows)  # the minimum rule
    return {r["Id"]: {k: v for k, v in r.items() if k not in ("Rank", "Id", "Name", "Detail", "Note")} for r in rows}


def period(demo: Demo) -> tuple[datetime, datetime]:
    since = datetime.combine(demo.started.date() - timedelta(days=1), datetime.min.time(), UTC)
    return since, since + timedelta(days=30)


def station_of(a: Assignment, c: Complaint) -> str | None:
    return None if c.is_misconduct else (a.station_id or c.station_id or "")


def acp_of(areas: Any) -> Callable[[Assignment, Complaint], str | None]:
    def acp(a: Assignment, c: Complaint) -> str | None:
        area = areas.get(a.station_id or "")
        return area.acp.id if area is not None and area.acp is not None else None

    return acp


@pytest.mark.parametrize("later", [timedelta(hours=3), timedelta(days=15)], ids=["just after", "fifteen days on"])
@pytest.mark.parametrize("by", ["station", "officer", "area"])
def test_the_leaderboard_equals_the_numbers_recomputed_from_the_demo_s_cases(demo: Demo, by: str, later: timedelta) -> None:
    since, until = period(demo)
    now = demo.ended + later
    groups: dict[str, Callable[[Assignment, Complaint], str | None]] = {
        "station": station_of,
        "officer": lambda a, c: a.officer_id,
        "area": acp_of(demo.directory.areas),
    }
    with session_scope(demo.engine) as session:
        expected = recompute(session, since=since, until=until, now=now, group=groups[by])
    query = parse_query({"by": by, "since": since.date().isoformat(), "until": until.date().isoformat()}, today=now.date())
    assert board_table(demo, query, now) == expected
    if later > RESOLVED_AFTER:
        assert sum(int(r["Resolved"]) for r in expected.values()) > 0  # the check means something


def test_the_demo_s_reassigned_cases_breach_stays_with_the_first_holder(demo: Demo) -> None:
    since, until = period(demo)
    held = {officer for _, first, new in demo.reassigned for officer in (first, new)}
    officers = build_board(demo.engine, Query(by="officer", since=since.date(), until=until.date()), scope=Scope(),
                           directory=demo.directory, rules=Rules(), tz=UTC, now=demo.ended + timedelta(hours=3),
                           keys=held)  # the drill-down's rows: they carry the cases behind each number
    rows = {r.key: r for r in officers.rows}
    for docket, first, new in demo.reassigned:
        missed = [e for e in rows[first].measures["ack_in_time"].cases if e.docket == docket]
        assert [e.outcome for e in missed] == ["missed"]
        assert docket not in [e.docket for e in rows[new].measures["ack_in_time"].cases]
        assert docket in [e.docket for e in rows[new].measures["ack_citizen_p50"].cases]  # the citizen's clock ran on
        assert docket in [e.docket for e in rows[first].measures["escalations"].cases]
        assert docket not in [e.docket for e in rows[new].measures["escalations"].cases]


def test_the_case_closed_without_a_note_is_never_resolved_and_the_bot_s_replies_are_no_response(demo: Demo) -> None:
    since, until = period(demo)
    query, now = Query(since=since.date(), until=until.date()), demo.ended + timedelta(days=30)
    board = build_board(demo.engine, query, scope=Scope(), directory=demo.directory, rules=Rules(), tz=UTC, now=now)
    stations = build_board(demo.engine, query, scope=Scope(), directory=demo.directory, rules=Rules(), tz=UTC, now=now,
                           keys={r.key for r in board.rows})  # the drill-down's rows: with the cases behind each number

    def listed(measure: str, outcome: str | None = None) -> set[str]:
        return {e.docket for r in stations.rows for e in r.measures[measure].cases if outcome in (None, e.outcome)}

    assert demo.closed_without_note in listed("assigned") and demo.closed_without_note not in listed("resolved")
    assert listed("resolved") and listed("reopened", "reopened")  # the demo resolves and reopens cases
    with session_scope(demo.engine) as session:
        answered_by_the_bot = set(session.exec(
            select(Complaint.docket)
            .join(Reply, col(Reply.complaint_id) == col(Complaint.id))
            .where(Reply.kind == "acknowledgement", Reply.status == "posted", col(Complaint.acknowledged_at).is_(None))
        ).all())
    never_acknowledged = answered_by_the_bot & listed("assigned")
    assert never_acknowledged  # cases the bot acknowledged and no officer did
    assert not never_acknowledged & (listed("ack_officer_p50") | listed("ack_citizen_p50") | listed("ack_in_time", "in time"))


def test_the_page_and_the_csv_carry_the_same_rows(demo: Demo, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from dashboard.app import create_app
    from dashboard.users import add_user
    from models.secret import Secret

    add_user(demo.engine, username="lb-commissioner", role="commissioner", password="a-long-password-9", now=demo.ended)
    app = create_app(demo.engine, secret_key=Secret("k" * 40), clock=lambda: demo.ended + timedelta(hours=3), directory=demo.directory)
    client = TestClient(app)
    token = client.get("/login").text.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "lb-commissioner", "password": "a-long-password-9", "csrftoken": token},
                       follow_redirects=False).status_code == 303
    from tests.integration.test_leaderboard_pages import csv_rows, page_rows, same_rows

    since, until = period(demo)
    for query in (f"since={since.date()}&until={until.date()}", f"by=officer&since={since.date()}&until={until.date()}&sort=escalations"):
        page = client.get(f"/leaderboard?{query}")
        assert page.status_code == 200
        same_rows(page_rows(page.text), csv_rows(client.get(f"/leaderboard.csv?{query}").text))
