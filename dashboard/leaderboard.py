"""The commissioner's leaderboard: measures per station, officer or ACP/DCP area over a period. Pure.

The period [since, until) chooses the cases: a case is a group's when the group's first holding of it (an
officer's ``assignee`` assignment) started in the period; every number of that group is about those cases
and judged on the group's own holdings of them. A station's holdings are those whose responsible station
it is (a misconduct case is its supervisor's, never the accused station's); an area's are its stations';
an officer's are their own. The measures:

- **assigned**: the cases.
- **acknowledged in time (%)**: of the acknowledgement deadlines the group's holdings had when they fell
  due, the share met. A deadline belongs to the holding that had it: one carried over by a reassignment
  after it had passed was the earlier holder's breach; one still running, or gone with the case before it
  fell due, is nobody's yet.
- **time to acknowledge / to act** (median and 90th percentile, nearest rank, in hours): the officer's clock
  runs from their assignment to their own acknowledgement or action report; the citizen's from the first
  post to the case's first acknowledgement or action report (a reassignment does not restart it),
  counted for whoever made it. Only the officer's own actions count: the bot's automatic replies
  (acknowledgement, emergency, referral, thanks) are not a response.
- **resolved**: closed now with the officer's action note of its last round (reported after its last
  reopening) and not reopened for ``resolved_after_days`` since; counted for whoever reported that action.
  A case closed without a note is never resolved.
- **reopened (%)**: of the cases the group reported an action on, the share reopened after that report.
- **escalations**: the escalation steps of the group's cases whose breach was theirs (the holder then).
- **replies posted**: the action-taken replies posted to citizens carrying the group's reports.
- **overdue now**: cases the group holds now with a deadline passed and not met, whenever assigned.

Nobody is ranked on fewer than ``min_cases`` cases: such rows are shown, unranked, saying why. Every
number carries the cases behind it (:class:`Evidence`) for the drill-down.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol, TypeVar

from dashboard.svg import StationShape
from models.leaderboard import CaseFact, Facts, HoldingFact, OverdueGroup
from models.lifecycle import DEFAULT_REOPEN_WINDOW, HELD, Status

By = Literal["station", "officer", "area"]
Level = Literal["acp", "dcp"]
BY: tuple[By, ...] = ("station", "officer", "area")
LEVELS: tuple[Level, ...] = ("acp", "dcp")
NO_STATION = ""  # the key of holdings with no station (a case the desk gave an officer)
_HOUR = 3600.0
_TO_ACKNOWLEDGE = frozenset({Status.ASSIGNED, Status.REOPEN_REQUESTED})


@dataclass(frozen=True)
class Rules:
    resolved_after_days: float = DEFAULT_REOPEN_WINDOW.days  # closed this long without a reopen: resolved
    min_cases: int = 5  # fewer cases than this: shown, not ranked


@dataclass(frozen=True)
class Unit:
    id: str
    name: str


@dataclass(frozen=True)
class StationArea:
    """The supervising units above a station."""

    acp: Unit | None = None
    dcp: Unit | None = None


@dataclass(frozen=True)
class Person:
    name: str
    rank: str = ""
    unit_name: str = ""


@dataclass(frozen=True)
class Directory:
    """What the leaderboard shows of the organisation, handed in as plain data (see assembly.dashboard_data)."""

    stations: Mapping[str, str] = field(default_factory=dict)  # station id → name
    areas: Mapping[str, StationArea] = field(default_factory=dict)  # station id → its ACP and DCP
    officers: Mapping[str, Person] = field(default_factory=dict)
    shapes: Mapping[str, StationShape] = field(default_factory=dict)  # station id → boundary

    def unit_name(self, unit_id: str) -> str:
        if unit_id in self.stations:
            return self.stations[unit_id]
        for area in self.areas.values():
            for unit in (area.acp, area.dcp):
                if unit is not None and unit.id == unit_id:
                    return unit.name
        return unit_id


@dataclass(frozen=True)
class MeasureSpec:
    name: str
    label: str  # the CSV's column, with the unit
    unit: str  # "" (a count), "%" or "h"
    is_higher_better: bool
    help: str
    group: str = ""  # the page's headers above the column: "To act (h)", then "officer"
    clock: str = ""
    short: str = ""  # the page's column header

    @property
    def heading(self) -> str:
        return self.short or self.label


def _time(name: str, group: str, clock: str, median: bool, help: str) -> MeasureSpec:
    what = group.split(" (")[0]
    label = f"{what}, {clock}, {'median' if median else '90th pct'}"
    return MeasureSpec(name, label, "h", False, help, group, clock, "median" if median else "90th")


_ACK, _ACT = "To acknowledge (h)", "To act (h)"
_OFFICER_ACK = "officer's clock: from their assignment to their acknowledgement"
_CITIZEN_ACK = "citizen's clock: from the first post to the first acknowledgement"
_OFFICER_ACT = "officer's clock: from their assignment to their action report"
_CITIZEN_ACT = "citizen's clock: from the first post to the first action report"
MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec("assigned", "Assigned", "", True, "cases first held in the period"),
    MeasureSpec("ack_in_time", "Acknowledged in time", "%", True, "acknowledgement deadlines met, of those that fell due", short="Ack. in time %"),
    _time("ack_officer_p50", _ACK, "officer", True, _OFFICER_ACK),
    _time("ack_officer_p90", _ACK, "officer", False, _OFFICER_ACK),
    _time("ack_citizen_p50", _ACK, "citizen", True, _CITIZEN_ACK),
    _time("ack_citizen_p90", _ACK, "citizen", False, _CITIZEN_ACK),
    _time("act_officer_p50", _ACT, "officer", True, _OFFICER_ACT),
    _time("act_officer_p90", _ACT, "officer", False, _OFFICER_ACT),
    _time("act_citizen_p50", _ACT, "citizen", True, _CITIZEN_ACT),
    _time("act_citizen_p90", _ACT, "citizen", False, _CITIZEN_ACT),
    MeasureSpec("resolved", "Resolved", "", True, "closed with the officer's action note and not reopened within the window"),
    MeasureSpec("reopened", "Reopened", "%", False, "of the cases with an action reported, reopened after it", short="Re­opened %"),
    MeasureSpec("escalations", "Escalations", "", False, "escalation steps for deadlines passed while they held the case", short="Escal­ations"),
    MeasureSpec("replies", "Replies posted", "", True, "action-taken replies posted to citizens (never the bot's own)", short="Replies"),
    MeasureSpec("overdue", "Overdue now", "", False, "cases held now with a deadline passed, whenever assigned", short="Overdue now"),
)
SPECS = {spec.name: spec for spec in MEASURES}
DEFAULT_SORT = "ack_in_time"


class Evidence(NamedTuple):
    """One case behind a number: its docket, the hours measured (if any) and what happened."""

    docket: str
    hours: float | None
    outcome: str


@dataclass(frozen=True)
class Measure:
    value: float | None
    cases: tuple[Evidence, ...] = ()


class Week(NamedTuple):
    """A week of a row's trend (a tuple: a year of a thousand rows makes fifty thousand of them)."""

    cases: int = 0
    ack_met: int = 0
    ack_due: int = 0

    @property
    def ack_in_time(self) -> float | None:
        return 100.0 * self.ack_met / self.ack_due if self.ack_due else None


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    detail: str
    measures: Mapping[str, Measure]
    weeks: Sequence[Week] = ()
    rank: int | None = None
    unranked_because: str | None = None

    def value(self, name: str) -> float | None:
        return self.measures[name].value


@dataclass
class _Tally:
    assigned: list[Evidence] = field(default_factory=list)
    ack_deadlines: list[Evidence] = field(default_factory=list)
    ack_officer: list[Evidence] = field(default_factory=list)
    ack_citizen: list[Evidence] = field(default_factory=list)
    act_officer: list[Evidence] = field(default_factory=list)
    act_citizen: list[Evidence] = field(default_factory=list)
    resolved: list[Evidence] = field(default_factory=list)
    acted: list[Evidence] = field(default_factory=list)
    escalations: list[Evidence] = field(default_factory=list)
    replies: list[Evidence] = field(default_factory=list)
    overdue: list[Evidence] = field(default_factory=list)
    weeks: list[list[int]] = field(default_factory=list)  # per week: cases, acknowledgements met, due


def holding_keys(by: By, level: Level, directory: Directory) -> Callable[[HoldingFact, CaseFact], str | None]:
    """Which group a holding belongs to (None: to none of this kind)."""
    if by == "officer":
        return lambda h, c: h.officer_id
    if by == "station":
        return lambda h, c: None if c.is_misconduct else (h.station_id or NO_STATION)

    def area_of(h: HoldingFact, c: CaseFact) -> str | None:
        area = directory.areas.get(h.station_id or "")
        unit = None if area is None else area.acp if level == "acp" else area.dcp
        return unit.id if unit is not None else None

    return area_of


def measure_rows(
    facts: Facts,
    *,
    by: By,
    since: float,
    until: float,
    now: float,
    rules: Rules = Rules(),
    directory: Directory = Directory(),
    level: Level = "acp",
    week_starts: Sequence[float] = (),
    keys: Collection[str] | None = None,
) -> list[Row]:
    """One row per group with cases in the period or overdue now (only ``keys`` when given), unsorted.
    Times are POSIX seconds; ``week_starts`` (ascending, the first at ``since``) bucket the trend."""
    key_of = holding_keys(by, level, directory)
    weeks = list(week_starts) or [since]
    resolved_before = now - rules.resolved_after_days * 86400.0
    tallies: dict[str, _Tally] = {}
    per_case: dict[int, list[HoldingFact]] = {}
    for h in facts.holdings:
        per_case.setdefault(h.complaint_id, []).append(h)
    replies = _by_case(facts.replies)
    reopens = {cid: sorted(r.at for r in rows) for cid, rows in _by_case(facts.reopens).items()}

    for cid, held in per_case.items():
        case = facts.cases[cid]
        if len(held) > 1:
            held.sort(key=_started)
        docket = case.docket
        first_ack = first_act = last_act = None
        for h in held:
            if h.acknowledged_at is not None and (first_ack is None or h.acknowledged_at < (first_ack.acknowledged_at or 0.0)):
                first_ack = h
            if h.acted_at is not None:
                if first_act is None or h.acted_at < (first_act.acted_at or 0.0):
                    first_act = h
                if last_act is None or h.acted_at >= (last_act.acted_at or 0.0):
                    last_act = h
        reopened_at = reopens.get(cid, ())
        is_resolved = (
            last_act is not None
            and case.status == Status.CLOSED
            and case.has_note
            and case.closed_at is not None
            and case.closed_at <= resolved_before
            and (last_act.acted_at or 0.0) <= case.closed_at
            and (not reopened_at or (last_act.acted_at or 0.0) > reopened_at[-1])
        )
        groups: dict[str, list[HoldingFact]] = {}
        for h in held:
            key = key_of(h, case)
            if key is not None and (keys is None or key in keys):
                groups.setdefault(key, []).append(h)
        for key, mine in groups.items():
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = _Tally(weeks=[[0, 0, 0] for _ in weeks])
            for h in mine:
                if h.is_open:
                    late = _overdue_since(h, case, now)
                    if late is not None:
                        tally.overdue.append(Evidence(docket, (now - late) / _HOUR, "overdue"))
            start = mine[0].assigned_at
            if not since <= start < until:
                continue
            week = tally.weeks[bisect_right(weeks, start) - 1]
            week[0] += 1
            tally.assigned.append(Evidence(docket, None, case.status))
            my_first_act = None
            for h in mine:
                met = _ack_deadline(h, now)
                if met is not None:
                    hours = ((h.acknowledged_at or now) - (h.acknowledge_by or now)) / _HOUR
                    tally.ack_deadlines.append(Evidence(docket, hours, "in time" if met else "missed"))
                    week[1] += met
                    week[2] += 1
                if h.acknowledged_at is not None:
                    tally.ack_officer.append(Evidence(docket, (h.acknowledged_at - h.assigned_at) / _HOUR, "acknowledged"))
                if h.acted_at is not None:
                    tally.act_officer.append(Evidence(docket, (h.acted_at - h.assigned_at) / _HOUR, "action reported"))
                    if my_first_act is None or h.acted_at < my_first_act:
                        my_first_act = h.acted_at
                if h.steps:
                    tally.escalations.extend([Evidence(docket, None, f"{h.steps} step{'s' if h.steps > 1 else ''}")] * h.steps)
                if h is first_ack:
                    tally.ack_citizen.append(Evidence(docket, ((h.acknowledged_at or 0.0) - case.posted_at) / _HOUR, "acknowledged"))
                if h is first_act:
                    tally.act_citizen.append(Evidence(docket, ((h.acted_at or 0.0) - case.posted_at) / _HOUR, "action reported"))
                if h is last_act and is_resolved:
                    tally.resolved.append(Evidence(docket, None, "resolved"))
            if my_first_act is not None:
                was_reopened = any(at > my_first_act for at in reopened_at)
                tally.acted.append(Evidence(docket, None, "reopened" if was_reopened else "not reopened"))
                for reply in replies.get(cid, ()):
                    reporter = _reporter(held, reply.created_at)
                    if reporter is not None and any(h is reporter for h in mine):
                        tally.replies.append(Evidence(docket, None, "posted"))

    # a group whose only holdings of the loaded cases began before the period and are not overdue has no row
    return [_row(key, t, by, level, directory, rules) for key, t in tallies.items() if t.assigned or t.overdue]


HOLDING_STATUSES = HELD  # a case whose holder can be overdue (:func:`models.leaderboard.overdue_groups`)
TO_ACKNOWLEDGE = _TO_ACKNOWLEDGE  # a case whose holder can still miss the acknowledgement


def overdue_counts(groups: Iterable[OverdueGroup], *, by: By, directory: Directory = Directory(), level: Level = "acp") -> dict[str, int]:
    """Overdue now per group from the overdue holdings counted per officer, station and misconduct flag (see
    :func:`models.leaderboard.overdue_groups`), as ``measure_rows`` counts it: one per open holding past a
    deadline unmet, the holding's group found by the same rule."""
    key_of = holding_keys(by, level, directory)
    found: dict[str, int] = {}
    for g in groups:
        holding = HoldingFact(0, 0, g.officer_id, g.station_id, True, 0.0, None, None, None, None, None)
        key = key_of(holding, CaseFact(0, "", None, "", g.is_misconduct, 0.0, None, False))
        if key is not None:
            found[key] = found.get(key, 0) + g.holdings
    return found


def station_counts(facts: Facts, *, since: float, until: float) -> dict[str, int]:
    """Cases per station in the period, as the station rows count them (``assigned``): for the map."""
    first: dict[tuple[str, int], float] = {}
    for h in facts.holdings:
        if facts.cases[h.complaint_id].is_misconduct or h.station_id is None:
            continue
        key = (h.station_id, h.complaint_id)
        if key not in first or h.assigned_at < first[key]:
            first[key] = h.assigned_at
    counts: dict[str, int] = {}
    for (station, _), start in first.items():
        if since <= start < until:
            counts[station] = counts.get(station, 0) + 1
    return counts


class _OfCase(Protocol):
    @property
    def complaint_id(self) -> int: ...


_Fact = TypeVar("_Fact", bound=_OfCase)


def _by_case(rows: Iterable[_Fact]) -> dict[int, list[_Fact]]:
    found: dict[int, list[_Fact]] = {}
    for row in rows:
        found.setdefault(row.complaint_id, []).append(row)
    return found


def _ack_deadline(h: HoldingFact, now: float) -> bool | None:
    """Whether the holding met its acknowledgement deadline; None when the deadline was not its to meet
    (none, passed before it started, still running, or the holding ended before it fell due)."""
    due = h.acknowledge_by
    if due is None or due < h.assigned_at:
        return None
    if h.acknowledged_at is not None and h.acknowledged_at <= due:
        return True
    if due < (h.ended_at if h.ended_at is not None else now):
        return False
    return None


def _overdue_since(h: HoldingFact, case: CaseFact, now: float) -> float | None:
    """The earliest deadline passed and not met, if the holding is open and overdue now."""
    if not h.is_open or case.status not in HELD:
        return None
    passed = []
    if h.acknowledge_by is not None and h.acknowledge_by <= now and h.acknowledged_at is None and case.status in _TO_ACKNOWLEDGE:
        passed.append(h.acknowledge_by)
    if h.act_by is not None and h.act_by <= now and h.acted_at is None:
        passed.append(h.act_by)
    return min(passed) if passed else None


def _reporter(held: Sequence[HoldingFact], at: float) -> HoldingFact | None:
    """The holding whose action report a reply planned at ``at`` carries: the latest one reported by then."""
    found = None
    for h in held:
        if h.acted_at is not None and h.acted_at <= at and (found is None or h.acted_at >= (found.acted_at or 0.0)):
            found = h
    return found


def _started(h: HoldingFact) -> tuple[float, int]:
    return h.assigned_at, h.assignment_id


def nearest_rank(values: Sequence[float], fraction: float) -> float | None:
    """The ⌈fraction·n⌉-th smallest value (a value that occurred, never an interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _share(cases: list[Evidence], hit: str) -> Measure:
    hits = sum(1 for e in cases if e.outcome == hit)
    return Measure(100.0 * hits / len(cases) if cases else None, tuple(cases))


def _times(cases: list[Evidence]) -> tuple[Measure, Measure]:
    ordered = tuple(sorted(cases, key=lambda e: (e.hours or 0.0, e.docket)))
    hours = [e.hours or 0.0 for e in ordered]
    return Measure(nearest_rank(hours, 0.5), ordered), Measure(nearest_rank(hours, 0.9), ordered)


def _count(cases: list[Evidence]) -> Measure:
    return Measure(float(len(cases)), tuple(cases))


def _row(key: str, t: _Tally, by: By, level: Level, directory: Directory, rules: Rules) -> Row:
    ack_officer = _times(t.ack_officer)
    ack_citizen = _times(t.ack_citizen)
    act_officer = _times(t.act_officer)
    act_citizen = _times(t.act_citizen)
    measures = {
        "assigned": _count(t.assigned),
        "ack_in_time": _share(t.ack_deadlines, "in time"),
        "ack_officer_p50": ack_officer[0],
        "ack_officer_p90": ack_officer[1],
        "ack_citizen_p50": ack_citizen[0],
        "ack_citizen_p90": ack_citizen[1],
        "act_officer_p50": act_officer[0],
        "act_officer_p90": act_officer[1],
        "act_citizen_p50": act_citizen[0],
        "act_citizen_p90": act_citizen[1],
        "resolved": _count(t.resolved),
        "reopened": _share(t.acted, "reopened"),
        "escalations": _count(t.escalations),
        "replies": _count(t.replies),
        "overdue": _count(t.overdue),
    }
    label, detail = describe(key, by, level, directory)
    cases = len(t.assigned)
    unranked = None
    if cases < rules.min_cases:
        unranked = f"not ranked: {cases} case{'s' if cases != 1 else ''}, fewer than {rules.min_cases}"
    weeks = tuple(Week(*w) for w in t.weeks)
    return Row(key, label, detail, measures, weeks, None, unranked)


def describe(key: str, by: By, level: Level, directory: Directory) -> tuple[str, str]:
    """A group's name and what it is (the officer's rank and unit, the station's ACP, ...)."""
    if by == "officer":
        person = directory.officers.get(key)
        if person is None:
            return key, ""
        return person.name, ", ".join(p for p in (person.rank, person.unit_name) if p)
    if by == "station":
        if key == NO_STATION:
            return "No station", "cases the desk gave an officer"
        area = directory.areas.get(key)
        return directory.stations.get(key, key), (area.acp.name if area and area.acp else "")
    name = directory.unit_name(key)
    if level == "acp":
        dcp = next((a.dcp for a in directory.areas.values() if a.acp and a.acp.id == key and a.dcp), None)
        return name, dcp.name if dcp else ""
    return name, "DCP"


def rank_rows(rows: Iterable[Row], *, sort: str = DEFAULT_SORT, order: str | None = None) -> list[Row]:
    """Rows in the order asked (a missing value last either way), ranked rows first with their rank
    (equal values share it), then the unranked ones; ties in name order."""
    spec = SPECS.get(sort, SPECS[DEFAULT_SORT])
    is_descending = (order or ("desc" if spec.is_higher_better else "asc")) == "desc"

    def key(row: Row) -> tuple[bool, float, str, str]:
        value = row.value(spec.name)
        return (value is None, -(value or 0.0) if is_descending else (value or 0.0), row.label.casefold(), row.key)

    ordered = sorted(rows, key=key)
    ranked = [r for r in ordered if r.unranked_because is None]
    result: list[Row] = []
    previous: tuple[bool, float] | None = None
    rank = 0
    for position, row in enumerate(ranked, start=1):
        current = key(row)[:2]
        if current != previous:
            rank, previous = position, current
        result.append(Row(row.key, row.label, row.detail, row.measures, row.weeks, rank, None))
    return result + [r for r in ordered if r.unranked_because is not None]


def natural_order(sort: str) -> str:
    """The order a column sorts in first: best first."""
    spec = SPECS.get(sort, SPECS[DEFAULT_SORT])
    return "desc" if spec.is_higher_better else "asc"


def cell(row: Row, name: str) -> str:
    """A number as the page and the CSV show it: counts whole, % and hours to one decimal, none empty.
    Rounded to a millionth first: the database's float times must not tip a value that sits on a half."""
    value = row.value(name)
    if value is None:
        return ""
    return str(int(value)) if SPECS[name].unit == "" else f"{round(value, 6):.1f}"


def header(spec: MeasureSpec) -> str:
    return f"{spec.label} ({spec.unit})" if spec.unit else spec.label


CSV_HEADER = ("Rank", "Id", "Name", "Detail", *(header(s) for s in MEASURES), "Note")


def csv_cells(row: Row) -> list[str]:
    """A row of ``/leaderboard.csv`` and of ``run.py leaderboard --csv``: what the page's row shows."""
    rank = "" if row.rank is None else str(row.rank)
    return [rank, row.key, row.label, row.detail, *(cell(row, s.name) for s in MEASURES), row.unranked_because or ""]
