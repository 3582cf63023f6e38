"""The leaderboard pages on SQLite and PostgreSQL: the numbers from the stored rows, the CSV equal to the page's
rows, the drill-down to the cases, who sees what, and nothing a user can change."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy.engine import Engine

import dashboard.leaderboard_pages as pages
from dashboard.leaderboard import CSV_HEADER, Directory, Person, Rules, StationArea, Unit
from dashboard.svg import StationShape
from models.db import session_scope
from models.followup import Escalation, Reply
from models.mentions import ensure_account
from models.routing import Assignment
from models.tables import AuditEvent, Complaint, Mention
from tests.integration.test_dashboard_auth import NOW, add_people, make_app, signed_in
from tests.unit.test_dashboard_static import outside_references

H = timedelta(hours=1)
DIRECTORY = Directory(
    stations={"s1": "First <b>Station</b>", "s2": "Second Station", "s9": "Far Station"},
    areas={"s1": StationArea(Unit("d1", "ACP One")), "s2": StationArea(Unit("d1", "ACP One")), "s9": StationArea(Unit("d9", "ACP Nine"))},
    officers={"L1-A": Person("Asha Rao", "Sub-Inspector", "First Station"), "L1-B": Person("Bala K", "ASI", "First Station")},
    shapes={
        "s1": StationShape("First <b>Station</b>", "law_order", (((77.0, 12.0), (77.1, 12.0), (77.1, 12.1), (77.0, 12.0)),)),
        "s9": StationShape("Far Station", "law_order", (((77.2, 12.0), (77.3, 12.0), (77.3, 12.1), (77.2, 12.0)),)),
    },
)


@dataclass
class Held:
    """One case with one or more holdings, as the bot and the officers would have left it."""

    docket: str
    station: str = "s1"
    holders: tuple[str, ...] = ("L1-A",)
    ack_after_h: float | None = 1.0  # the last holder's acknowledgement, after their assignment
    act_after_h: float | None = None
    status: str = "acknowledged"
    closed_after_h: float | None = None
    note: str | None = None
    moved_after_h: float = 5.0  # when a first holder of several passed it on
    steps_of_first: int = 0
    bot_replies: tuple[str, ...] = ("acknowledgement",)
    start: datetime = NOW - timedelta(days=3)


def store(engine: Engine, held: Held) -> None:
    with session_scope(engine) as session:
        account = ensure_account(session, platform="x", key="blrcitypolice", external_user_id="1", label="@blrcitypolice")
        start = held.start
        last_start = start + held.moved_after_h * H if len(held.holders) > 1 else start
        ack = last_start + held.ack_after_h * H if held.ack_after_h is not None else None
        act = last_start + held.act_after_h * H if held.act_after_h is not None else None
        closed = last_start + held.closed_after_h * H if held.closed_after_h is not None else None
        complaint = Complaint(
            docket=held.docket, category="theft", confidence=0.9, station_id=held.station, status=held.status,
            created_at=start, acknowledged_at=ack, action_taken_at=act, action_note=held.note, closed_at=closed,
        )
        session.add(complaint)
        session.flush()
        assert complaint.id is not None
        mention = Mention(platform="x", external_id=f"77{complaint.id:06d}", account_id=account, text="help",
                          created_at=start - H, complaint_id=complaint.id, joined_as="first")
        session.add(mention)
        session.flush()
        assert mention.id is not None
        for i, officer in enumerate(held.holders):
            is_last = i == len(held.holders) - 1
            begun = last_start if is_last else start
            row = Assignment(
                complaint_id=complaint.id, docket=held.docket, officer_id=officer, unit_id=held.station,
                station_id=held.station, role="assignee", rule="on_duty", assigned_at=begun,
                status=("closed" if closed else "open") if is_last else "moved",
                ended_at=closed if is_last else last_start,
                acknowledge_by=start + 2 * H if (ack is None or not is_last or len(held.holders) == 1) else None,
                act_by=start + 24 * H, acknowledged_at=ack if is_last else None, acted_at=act if is_last else None,
            )
            session.add(row)
            session.flush()
            if i == 0:
                for step in range(1, held.steps_of_first + 1):
                    session.add(Escalation(complaint_id=complaint.id, assignment_id=row.id or 0, docket=held.docket,
                                           holder_id=officer, deadline="acknowledge", step=step,
                                           due_at=start + 2 * step * H, at=start + 2 * step * H))
        kinds = list(held.bot_replies) + (["action_taken"] if act else [])
        for kind in kinds:
            made = act if kind == "action_taken" else start
            assert made is not None
            session.add(Reply(idempotency_key=f"{kind}:{mention.id}", complaint_id=complaint.id, mention_id=mention.id,
                              account_id=account, kind=kind, platform="x", in_reply_to=mention.external_id,
                              language="en", text="ok", marker=f"m{mention.id}{kind}", status="posted",
                              next_attempt_at=made, posted_at=made, created_at=made))
        if closed is not None:
            session.add(AuditEvent(kind="case.close", entity="complaint", entity_id=str(complaint.id), at=closed))


def seed(engine: Engine) -> None:
    add_people(engine, officer_id="L1-A", unit_id="d1")
    for n in range(1, 6):  # five acknowledged in time, acted on and closed with a note long ago (resolved)
        store(engine, Held(f"BLR-2026-10000{n}", act_after_h=3.0, status="closed", closed_after_h=5.0,
                           note="Patrol visited.", start=NOW - timedelta(days=20)))
    store(engine, Held("BLR-2026-100006", ack_after_h=None, status="closed", closed_after_h=30.0))  # no note
    store(engine, Held("BLR-2026-100007", holders=("L1-B", "L1-A"), steps_of_first=1, status="acknowledged"))
    store(engine, Held("BLR-2026-100008", ack_after_h=None, status="assigned"))  # only the bot answered
    store(engine, Held("BLR-2026-900001", station="s9", holders=("L9-A",), ack_after_h=3.0))  # late


class Table(HTMLParser):
    """The leaderboard table's rows as the page shows them: key, rank, name and each measure's text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-key") is not None:
            self.rows.append({"key": found["data-key"] or ""})
        elif self.rows and (measure := found.get("data-measure")):
            self._cell = measure
            self.rows[-1][measure] = ""
        elif self.rows and tag == "td" and "rank" in (found.get("class") or ""):
            self._cell = "rank"
            self.rows[-1]["rank"] = ""
        elif self.rows and tag == "span" and found.get("class") == "name":
            self._cell = "name"
            self.rows[-1]["name"] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "span"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self.rows[-1][self._cell] += data.strip()


def page_rows(html: str) -> list[dict[str, str]]:
    table = Table()
    table.feed(html)
    return table.rows


def csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text))
    assert tuple(next(reader)) == CSV_HEADER
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in reader]


MEASURE_COLUMNS = dict(zip(
    ["assigned", "ack_in_time", "ack_officer_p50", "ack_officer_p90", "ack_citizen_p50", "ack_citizen_p90",
     "act_officer_p50", "act_officer_p90", "act_citizen_p50", "act_citizen_p90", "resolved", "reopened",
     "escalations", "replies", "overdue"],
    CSV_HEADER[4:-1], strict=True,
))


def same_rows(page: list[dict[str, str]], table: list[dict[str, str]]) -> None:
    assert [r["key"] for r in page] == [r["Id"] for r in table]
    for shown, written in zip(page, table, strict=True):
        assert shown["rank"].replace("—", "") == written["Rank"]
        assert shown["name"] == written["Name"]
        for measure, column in MEASURE_COLUMNS.items():
            assert shown[measure].replace("—", "") == written[column], (shown["key"], measure)


def test_the_commissioner_s_leaderboard_counts_from_the_stored_cases_and_the_csv_is_the_page_s_rows(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, directory=DIRECTORY, units_under=lambda u: {"s1", "s2"} if u == "d1" else set()), "commissioner")

    page = client.get("/leaderboard")
    rows = {r["key"]: r for r in page_rows(page.text)}
    s1, s9 = rows["s1"], rows["s9"]
    assert s1["assigned"] == "8" and s9["assigned"] == "1"
    # acknowledgement deadlines that fell due on s1: 5 met; 100006 and 100008 missed; 100007's was L1-B's, missed
    assert s1["ack_in_time"] == f"{100 * 5 / 8:.1f}"
    assert s1["resolved"] == "5"  # not 100006: closed without a note
    assert s1["replies"] == "5"  # the officers' action-taken replies; the bot's acknowledgements never count
    assert s1["escalations"] == "1" and s1["overdue"] == "2"  # 100007 (action) and 100008 (both)
    assert s9["ack_in_time"] == "0.0" and s9["rank"] == "—"  # one case: shown, not ranked
    assert "First &lt;b&gt;Station&lt;/b&gt;" in page.text and "<b>Station" not in page.text
    assert outside_references(page.text) == []

    answer = client.get("/leaderboard.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="leaderboard-station-' in answer.headers["content-disposition"]
    same_rows(page_rows(page.text), csv_rows(answer.text))
    query = "by=officer&sort=assigned&order=asc"
    same_rows(page_rows(client.get(f"/leaderboard?{query}").text), csv_rows(client.get(f"/leaderboard.csv?{query}").text))


def test_the_reassigned_case_s_breach_is_the_first_holder_s(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, directory=DIRECTORY), "commissioner")
    officers = {r["key"]: r for r in page_rows(client.get("/leaderboard?by=officer").text)}
    assert officers["L1-B"]["ack_in_time"] == "0.0" and officers["L1-B"]["escalations"] == "1"
    assert officers["L1-A"]["escalations"] == "0"
    # 100007 reached L1-A 5 h after it was assigned and 6 h after the post; L1-A acknowledged an hour later:
    # one hour on the officer's clock, seven on the citizen's (the slowest of L1-A's, so the 90th percentile)
    assert officers["L1-A"]["ack_citizen_p90"] == "7.0" and officers["L1-A"]["ack_officer_p90"] == "1.0"
    drill = client.get("/leaderboard/cases?by=officer&measure=ack_in_time&key=L1-B")
    assert re.findall(r'href="/cases/([^"]+)"', drill.text) == ["BLR-2026-100007"] and "missed" in drill.text


def test_every_number_opens_the_cases_behind_it(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, directory=DIRECTORY), "commissioner")
    page = client.get("/leaderboard").text
    links = re.findall(r'href="(/leaderboard/cases\?[^"]+)"', page)
    assert any("measure=resolved" in link and "key=s1" in link for link in links)
    resolved = client.get("/leaderboard/cases?by=station&measure=resolved&key=s1").text
    assert re.findall(r'href="/cases/([^"]+)"', resolved) == [f"BLR-2026-10000{n}" for n in range(1, 6)]
    overdue = client.get("/leaderboard/cases?by=station&measure=overdue&key=s1").text
    assert sorted(re.findall(r'href="/cases/([^"]+)"', overdue)) == ["BLR-2026-100007", "BLR-2026-100008"]
    assert 'href="/leaderboard/cases?by=station' in page and "<path d=" in page  # the map's stations are links


def test_a_supervisor_sees_only_the_stations_under_their_unit(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, directory=DIRECTORY, units_under=lambda u: {"s1", "s2"} if u == "d1" else set()), "supervisor")
    assert {r["key"] for r in page_rows(client.get("/leaderboard").text)} == {"s1"}
    assert {r["key"] for r in page_rows(client.get("/leaderboard?by=officer").text)} == {"L1-A", "L1-B"}
    assert {r["key"] for r in page_rows(client.get("/leaderboard?by=area").text)} == {"d1"}
    assert "BLR-2026-900001" not in client.get("/leaderboard/cases?by=station&measure=assigned&key=s9").text
    assert "Far Station (not in your area)" in client.get("/leaderboard").text


@pytest.mark.parametrize("path", ["/leaderboard", "/leaderboard.csv", "/leaderboard/cases?measure=assigned&key=s1"])
def test_an_officer_opens_no_leaderboard_page(engine: Engine, path: str) -> None:
    seed(engine)
    assert signed_in(make_app(engine), "officer").get(path).status_code == 403


@pytest.mark.parametrize(
    "query",
    ["by=district", "since=yesterday", "since=2026-12-01&until=2026-11-01", "sort=bravery", "order=up",
     "since=2020-01-01&until=2026-01-01"],
)
def test_a_query_the_leaderboard_cannot_answer_is_a_400_saying_why(engine: Engine, query: str) -> None:
    add_people(engine)
    client = signed_in(make_app(engine), "desk")
    answer = client.get(f"/leaderboard?{query}")
    assert answer.status_code == 400 and ("must" in answer.text or "at most" in answer.text)


def test_sorting_follows_the_query_and_a_header_link_turns_the_order_round(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, directory=DIRECTORY, leaderboard_rules=Rules(min_cases=1)), "desk")
    by_cases = [r["key"] for r in page_rows(client.get("/leaderboard?sort=assigned&order=asc").text)]
    assert by_cases == ["s9", "s1"]
    page = client.get("/leaderboard?sort=assigned&order=asc").text
    assert "sort=assigned&amp;order=desc" in page  # the current column's link turns it round
    assert "<form" in page and 'method="post"' not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_a_long_board_is_shown_a_page_at_a_time_and_the_csv_is_the_page_s_rows(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine)
    client = signed_in(make_app(engine, directory=DIRECTORY, leaderboard_rules=Rules(min_cases=1)), "commissioner")
    query = "by=officer&sort=assigned&order=desc"
    every = page_rows(client.get(f"/leaderboard?{query}").text)
    assert len(every) >= 3
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first, second = client.get(f"/leaderboard?{query}"), client.get(f"/leaderboard?{query}&page=2")
    assert [r["key"] for r in page_rows(first.text)] == [r["key"] for r in every[:2]]
    assert page_rows(second.text) == every[2:4]  # the ranks go on: they are over every row of the period
    same_rows(page_rows(first.text), csv_rows(client.get(f"/leaderboard.csv?{query}").text))
    same_rows(page_rows(second.text), csv_rows(client.get(f"/leaderboard.csv?{query}&page=2").text))
    assert "order=desc&amp;page=2" in first.text and "order=desc&amp;page=all" in first.text and 'rel="prev"' in second.text
    assert re.search(r'href="/leaderboard\.csv\?by=officer[^"]*&amp;page=2"', second.text)  # the page's CSV link carries its page
    shown_all = client.get(f"/leaderboard?{query}&page=all").text
    assert page_rows(shown_all) == every
    same_rows(every, csv_rows(client.get(f"/leaderboard.csv?{query}&page=all").text))
    assert client.get(f"/leaderboard?{query}&page=0").status_code == 400
