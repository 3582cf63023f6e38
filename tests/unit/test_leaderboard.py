"""The leaderboard's measures on hand-made facts: the rules that keep it from being gamed, one table each.

Times are hours after T0 (the facts take POSIX seconds); the period is the 30 days from T0 - 10 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from dashboard.leaderboard import (
    CSV_HEADER,
    Directory,
    Person,
    Row,
    Rules,
    StationArea,
    Unit,
    csv_cells,
    measure_rows,
    nearest_rank,
    rank_rows,
)
from models.leaderboard import CaseFact, Facts, HoldingFact, ReopenFact, ReplyFact

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC).timestamp()
H = 3600.0
DAY = 24.0
SINCE, UNTIL = -10 * DAY, 20 * DAY
ANY_COUNT = Rules(min_cases=1)
NOBODY = Directory()


def at(hours: float | None) -> float | None:
    return None if hours is None else T0 + hours * H


def case(cid: int, *, station: str | None = "s1", status: str = "assigned", posted: float = -1.0,
         closed: float | None = None, note: bool = False, misconduct: bool = False) -> CaseFact:
    return CaseFact(cid, f"D-{cid}", station, status, misconduct, T0 + posted * H, at(closed), note)


def holding(aid: int, cid: int, *, officer: str = "O1", station: str | None = "s1", start: float = 0.0,
            ack_by: float | None = 2.0, act_by: float | None = 24.0, ack: float | None = None,
            act: float | None = None, ended: float | None = None, steps: int = 0) -> HoldingFact:
    return HoldingFact(aid, cid, officer, station, ended is None, T0 + start * H, at(ended),
                       at(None if ack_by is None else start + ack_by), at(None if act_by is None else start + act_by),
                       at(ack), at(act), steps)


def rows(cases: Sequence[CaseFact], holdings: Sequence[HoldingFact], *, by: Any = "station", now: float = 30 * DAY,
         replies: Sequence[ReplyFact] = (), reopens: Sequence[ReopenFact] = (), rules: Rules = ANY_COUNT,
         directory: Directory = NOBODY, level: Any = "acp") -> dict[str, Row]:
    facts = Facts({c.complaint_id: c for c in cases}, tuple(holdings), tuple(replies), tuple(reopens))
    found = measure_rows(facts, by=by, since=T0 + SINCE * H, until=T0 + UNTIL * H, now=T0 + now * H, rules=rules,
                         directory=directory, level=level)
    return {r.key: r for r in found}


def value(row: Row, name: str) -> float | None:
    return row.measures[name].value


def dockets(row: Row, name: str) -> list[str]:
    return [e.docket for e in row.measures[name].cases]


# -- resolved: only with the officer's note, and only once it stayed closed for the window -------------------
@pytest.mark.parametrize(
    ("status", "closed", "note", "acted", "expected"),
    [
        ("closed", 2 * DAY, True, 1.0, 1),  # closed with the action note 28 days before now: resolved
        ("closed", 2 * DAY, False, None, 0),  # closed by a supervisor without a note: never resolved
        ("closed", 25 * DAY, True, 1.0, 0),  # closed 5 days ago: not yet (it may still be reopened)
        ("action_taken", None, True, 1.0, 0),  # a note, never closed
        ("closed", 16 * DAY, True, 1.0, 1),  # exactly 14 days closed
    ],
)
def test_a_case_is_resolved_only_closed_with_a_note_and_not_reopened_within_the_window(
    status: str, closed: float | None, note: bool, acted: float | None, expected: int
) -> None:
    board = rows([case(1, status=status, closed=closed, note=note)], [holding(1, 1, ack=0.5, act=acted, ended=closed)])
    assert value(board["s1"], "resolved") == expected


def test_a_reopened_case_is_not_resolved_by_the_report_before_the_reopening_and_counts_as_reopened() -> None:
    # acted at 1 h, closed on day 1, the citizen reopened on day 3; the reopened round closed by a supervisor
    # on day 4 without a new report: the old note does not make it resolved
    cases = [case(1, status="closed", closed=4 * DAY, note=True), case(2, status="closed", closed=1 * DAY, note=True)]
    holdings = [
        holding(1, 1, ack=0.5, act=1.0, ended=1 * DAY),
        holding(2, 1, start=3 * DAY, ended=4 * DAY),
        holding(3, 2, ack=0.5, act=1.0, ended=1 * DAY),
    ]
    board = rows(cases, holdings, reopens=[ReopenFact(1, T0 + 3 * DAY * H)])
    assert value(board["s1"], "resolved") == 1 and dockets(board["s1"], "resolved") == ["D-2"]
    assert value(board["s1"], "reopened") == 50.0
    assert [(e.docket, e.outcome) for e in board["s1"].measures["reopened"].cases] == [
        ("D-1", "reopened"),
        ("D-2", "not reopened"),
    ]


def test_a_reopened_case_acted_on_again_and_closed_is_resolved_for_the_officer_who_reported_last() -> None:
    cases = [case(1, status="closed", closed=5 * DAY, note=True)]
    holdings = [
        holding(1, 1, officer="A", ack=0.5, act=1.0, ended=1 * DAY),
        holding(2, 1, officer="B", start=3 * DAY, ack=3 * DAY + 1, act=3 * DAY + 2, ended=5 * DAY),
    ]
    board = rows(cases, holdings, by="officer", reopens=[ReopenFact(1, T0 + 3 * DAY * H)])
    assert value(board["A"], "resolved") == 0 and value(board["A"], "reopened") == 100.0
    assert value(board["B"], "resolved") == 1 and value(board["B"], "reopened") == 0.0


# -- a reassignment: the citizen's clock runs on, the breach is the first holder's ----------------------------
def test_a_reassigned_case_s_acknowledgement_breach_belongs_to_the_holder_when_it_passed() -> None:
    # A held it 5 h without acknowledging (deadline at 2 h, one escalation step); B got it with the deadline
    # carried (already passed) and acknowledged an hour later
    cases = [case(1, posted=-1.0)]
    holdings = [
        holding(1, 1, officer="A", ended=5.0, steps=1),
        holding(2, 1, officer="B", start=5.0, ack_by=-3.0, act_by=19.0, ack=6.0),
    ]
    board = rows(cases, holdings, by="officer")
    assert value(board["A"], "ack_in_time") == 0.0 and dockets(board["A"], "ack_in_time") == ["D-1"]
    assert value(board["B"], "ack_in_time") is None  # the deadline was gone before B had the case
    assert value(board["A"], "escalations") == 1 and value(board["B"], "escalations") == 0
    assert value(board["B"], "ack_officer_p50") == pytest.approx(1.0)  # B's own clock: from B's assignment
    assert value(board["B"], "ack_citizen_p50") == pytest.approx(7.0)  # the citizen's: from the post, not restarted
    assert value(board["A"], "ack_citizen_p50") is None
    station = rows(cases, holdings)["s1"]
    assert value(station, "ack_in_time") == 0.0 and value(station, "assigned") == 1


@pytest.mark.parametrize(
    ("ack_by", "ack", "ended", "now", "expected"),
    [
        (2.0, 1.0, None, 30 * DAY, 100.0),  # acknowledged before the deadline
        (2.0, 2.0, None, 30 * DAY, 100.0),  # at the deadline is in time
        (2.0, 3.0, None, 30 * DAY, 0.0),  # late
        (2.0, None, None, 30 * DAY, 0.0),  # never
        (2.0, None, None, 1.0, None),  # still running: nobody's yet
        (2.0, None, 1.0, 30 * DAY, None),  # the holding ended (moved) before the deadline: not theirs
        (None, None, None, 30 * DAY, None),  # no deadline (a case from the desk)
    ],
)
def test_acknowledged_in_time_counts_the_deadlines_that_fell_due_on_the_holding(
    ack_by: float | None, ack: float | None, ended: float | None, now: float, expected: float | None
) -> None:
    board = rows([case(1)], [holding(1, 1, ack_by=ack_by, ack=ack, ended=ended)], now=now)
    assert value(board["s1"], "ack_in_time") == expected


# -- only the officer's own actions count -------------------------------------------------------------------
def test_a_case_the_bot_answered_but_nobody_acknowledged_has_no_response_time_and_missed_its_deadline() -> None:
    """The bot's acknowledgement reply is not in the facts at all (only action-taken replies are loaded):
    a case with no officer acknowledgement has no time to acknowledge, whatever the bot posted."""
    board = rows([case(1)], [holding(1, 1)])
    assert value(board["s1"], "ack_in_time") == 0.0
    assert value(board["s1"], "ack_officer_p50") is None and value(board["s1"], "ack_citizen_p50") is None
    assert value(board["s1"], "replies") == 0


def test_an_action_taken_reply_counts_for_the_officer_whose_report_it_carries() -> None:
    cases = [case(1, status="action_taken", note=True)]
    holdings = [
        holding(1, 1, officer="A", ack=0.5, act=2.0, ended=10.0),
        holding(2, 1, officer="B", start=10.0, ack=11.0, act=12.0),
    ]
    replies = [ReplyFact(1, T0 + 2.0 * H), ReplyFact(1, T0 + 2.0 * H), ReplyFact(1, T0 + 12.0 * H)]  # two reporters
    board = rows(cases, holdings, by="officer", replies=replies)
    assert value(board["A"], "replies") == 2 and value(board["B"], "replies") == 1


# -- who a case belongs to --------------------------------------------------------------------------------------
def test_a_misconduct_case_is_never_the_accused_station_s_but_its_supervisor_s_and_its_area_s() -> None:
    directory = Directory(areas={"s1": StationArea(Unit("acp1", "ACP One"), Unit("dcp1", "DCP One"))})
    cases = [case(1, misconduct=True), case(2)]
    holdings = [holding(1, 1, officer="ACP-HEAD", ack=1.0), holding(2, 2, officer="O1", ack=1.0)]
    assert value(rows(cases, holdings)["s1"], "assigned") == 1
    assert set(rows(cases, holdings, by="officer")) == {"ACP-HEAD", "O1"}
    areas = rows(cases, holdings, by="area", directory=directory)
    assert value(areas["acp1"], "assigned") == 2
    assert value(rows(cases, holdings, by="area", directory=directory, level="dcp")["dcp1"], "assigned") == 2


def test_a_case_belongs_to_the_period_its_first_holding_started_in_and_overdue_now_to_any_period() -> None:
    cases = [case(1), case(2), case(3, status="acknowledged")]
    holdings = [
        holding(1, 1, start=-20 * DAY),  # before the period, never acknowledged: overdue now
        holding(2, 2, start=29.95 * DAY),  # after the period, its deadline still running
        holding(3, 3, start=1.0, ack=1.5),  # in the period; acknowledged, not acted on: overdue (action)
    ]
    board = rows(cases, holdings)["s1"]
    assert dockets(board, "assigned") == ["D-3"]
    assert sorted(dockets(board, "overdue")) == ["D-1", "D-3"]


# -- ranking --------------------------------------------------------------------------------------------------
def test_nobody_is_ranked_on_fewer_than_the_minimum_of_cases_and_the_row_says_why() -> None:
    cases = [case(i, station="big" if i <= 5 else "small") for i in range(1, 10)]
    holdings = [holding(i, i, station=c.station_id, ack=1.0 if i != 1 else None) for i, c in enumerate(cases, 1)]
    ranked = rank_rows(rows(cases, holdings, rules=Rules(min_cases=5)).values(), sort="ack_in_time")
    assert [(r.key, r.rank) for r in ranked] == [("big", 1), ("small", None)]
    assert ranked[1].unranked_because == "not ranked: 4 cases, fewer than 5"
    assert ranked[1].value("ack_in_time") == 100.0  # better than the ranked station, and still below it


def test_rows_sort_best_first_by_default_with_ties_sharing_a_rank_and_missing_values_last() -> None:
    cases = [case(i, station=f"s{i}") for i in range(1, 5)]
    hours = {1: 3.0, 2: 1.0, 3: 1.0, 4: None}
    holdings = [holding(i, i, station=f"s{i}", ack=hours[i]) for i in range(1, 5)]
    board = rows(cases, holdings).values()
    fastest = rank_rows(board, sort="ack_officer_p50")
    assert [(r.key, r.rank) for r in fastest] == [("s2", 1), ("s3", 1), ("s1", 3), ("s4", 4)]
    slowest = rank_rows(board, sort="ack_officer_p50", order="desc")
    assert [r.key for r in slowest] == ["s1", "s2", "s3", "s4"]  # no value still last


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([4.0], 0.9, 4.0),
        ([1.0, 2.0], 0.5, 1.0),  # nearest rank: the lower middle, a value that occurred
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([float(i) for i in range(1, 11)], 0.9, 9.0),
        ([float(i) for i in range(1, 12)], 0.9, 10.0),
    ],
)
def test_percentiles_are_nearest_rank(values: list[float], fraction: float, expected: float | None) -> None:
    assert nearest_rank(values, fraction) == expected


def test_a_csv_row_is_the_page_s_cells_and_names_the_officer() -> None:
    directory = Directory(officers={"O1": Person("Kavya Nayak", "Inspector", "Adugodi Traffic PS")})
    [row] = rank_rows(rows([case(1)], [holding(1, 1, ack=1.25)], by="officer", directory=directory).values())
    cells = dict(zip(CSV_HEADER, csv_cells(row), strict=True))
    assert cells["Name"] == "Kavya Nayak" and cells["Detail"] == "Inspector, Adugodi Traffic PS"
    assert cells["Assigned"] == "1" and cells["Acknowledged in time (%)"] == "100.0"
    assert cells["To acknowledge, officer, median (h)"] == "1.2"  # 1.25 to one decimal (half to even)
    assert cells["To act, officer, median (h)"] == ""  # nothing to measure: empty, not zero
