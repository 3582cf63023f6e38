"""The leaderboard from day tallies equals ``measure_rows`` over all the cases, on SQLite and PostgreSQL:
random cases over three weeks in Kolkata's time, random periods, kinds and nows, with the refresher half-way
through its backfill, then cases changed after they were tallied (a settled case reopened, a late action-taken
reply posted, a reassignment days later, a close without a note, a correction to another station), then the
refresher caught up. Breaking the touched-case detection on purpose makes the equality fail."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

import dashboard.leaderboard_fast as fast
import dashboard.leaderboard_sum as leaderboard_sum
from dashboard.leaderboard import Directory, Row, Rules, StationArea, Unit, csv_cells, measure_rows, station_counts
from dashboard.leaderboard_fast import DayCache, fast_rows, local_midnight
from dashboard.leaderboard_refresh import TallyRefresher
from models.db import session_scope
from models.followup import Escalation, Reply
from models.leaderboard import load_facts
from models.mentions import ensure_account
from models.routing import Assignment
from models.tables import AuditEvent, Complaint, Mention
from models.tally import first_holding_start

TZ = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
START = NOW - timedelta(days=21)
H = timedelta(hours=1)
STATIONS = ("s1", "s2", "s3", "s4")
OFFICERS = ("o1", "o2", "o3", "o4", "o5", "o6")
DIRECTORY = Directory(
    stations={s: s.upper() for s in STATIONS},
    areas={
        "s1": StationArea(Unit("a1", "ACP 1"), Unit("d1", "DCP 1")),
        "s2": StationArea(Unit("a1", "ACP 1"), Unit("d1", "DCP 1")),
        "s3": StationArea(Unit("a2", "ACP 2"), Unit("d1", "DCP 1")),
        "s4": StationArea(None, Unit("d2", "DCP 2")),
    },
)
RULES = Rules(resolved_after_days=3, min_cases=3)


def add_case(session: Any, rng: random.Random, account: int, n: int) -> int:
    start = START + timedelta(hours=rng.uniform(0, 20 * 24))
    station = rng.choice(STATIONS)
    docket = f"T-{n:04d}"
    case = Complaint(docket=docket, category="theft", confidence=0.9, station_id=station, status="assigned",
                     is_misconduct=rng.random() < 0.05, created_at=start)
    session.add(case)
    session.flush()
    assert case.id is not None
    mention = Mention(platform="x", external_id=f"5{n:08d}", account_id=account, text="help", created_at=start - H * rng.random(),
                      complaint_id=case.id, joined_as="first")
    session.add(mention)
    session.flush()
    at, status, acted, note = start, "assigned", None, None
    for holder in range(rng.choice((1, 1, 1, 2, 3))):
        officer = rng.choice(OFFICERS)
        ack = at + H * rng.uniform(0.1, 4) if rng.random() < 0.7 else None
        act = ack + H * rng.uniform(1, 40) if ack is not None and rng.random() < 0.7 else None
        last = holder == 2 or rng.random() < 0.6
        end = at + H * rng.uniform(1, 60)
        end = max(end, act or end) if last else end
        is_open = last and (rng.random() < 0.4 or end > NOW)
        row = Assignment(complaint_id=case.id, docket=docket, officer_id=officer, unit_id=station,
                         station_id=station if rng.random() < 0.9 else None, role="assignee", rule="on_duty", assigned_at=at,
                         status="open" if is_open else "closed" if last else "moved", ended_at=None if is_open else end,
                         acknowledge_by=at + 2 * H if rng.random() < 0.9 else None, act_by=at + 24 * H,
                         acknowledged_at=ack if ack is None or ack <= NOW else None, acted_at=act if act is None or act <= NOW else None)
        session.add(row)
        session.flush()
        for step in range(rng.choice((0, 0, 1, 2))):
            session.add(Escalation(complaint_id=case.id, assignment_id=row.id or 0, docket=docket, holder_id=officer,
                                   deadline="acknowledge", step=step + 1, due_at=at + 2 * H, at=at + (2 + step) * H))
        if row.acted_at is not None:
            acted, note = row.acted_at, "Visited." if rng.random() < 0.85 else None
            session.add(Reply(idempotency_key=f"a:{mention.id}:{holder}", complaint_id=case.id, mention_id=mention.id or 0,
                              account_id=account, kind="action_taken", platform="x", in_reply_to=mention.external_id,
                              language="en", text="ok", marker=f"m{n}-{holder}", status="posted" if rng.random() < 0.8 else "queued",
                              next_attempt_at=acted, created_at=acted))
        status = "action_taken" if row.acted_at else "acknowledged" if row.acknowledged_at else "assigned"
        if not is_open and last:
            status = "closed" if rng.random() < 0.9 else "rejected"
            case.closed_at = end if status == "closed" else None
            if rng.random() < 0.15:  # reopened once before, and done again
                session.add(AuditEvent(kind="case.reopen", entity="complaint", entity_id=str(case.id), at=end - H * 0.5))
            break
        at = end
    case.status, case.action_note, case.action_taken_at = status, note, acted
    return case.id


@pytest.fixture
def cases(engine: Engine) -> Iterator[tuple[Engine, list[int]]]:
    rng = random.Random(11)
    with session_scope(engine) as session:
        account = ensure_account(session, platform="x", key="k", external_user_id="1", label="@k")
        ids = [add_case(session, rng, account, n) for n in range(110)]
    yield engine, ids


def expected(engine: Engine, by: str, level: str, since: date, until: date, now: datetime) -> tuple[list[list[str]], dict[str, int]]:
    with session_scope(engine) as session:
        facts = load_facts(session, since=START - timedelta(days=30), until=NOW + timedelta(days=30), now=now)
    s, u = local_midnight(since, TZ).timestamp(), local_midnight(until, TZ).timestamp()
    weeks = [local_midnight(since + timedelta(days=d), TZ).timestamp() for d in range(0, (until - since).days, 7)]
    rows = measure_rows(facts, by=by, level=level, since=s, until=u, now=now.timestamp(), rules=RULES,  # type: ignore[arg-type]
                        directory=DIRECTORY, week_starts=weeks)
    return table(rows), {k: v for k, v in station_counts(facts, since=s, until=u).items() if v}


def table(rows: list[Row]) -> list[list[str]]:
    return sorted([*csv_cells(r)[1:], *(f"{w.cases}/{w.ack_met}/{w.ack_due}" for w in r.weeks)] for r in rows)


def actual(
    engine: Engine, by: str, level: str, since: date, until: date, now: datetime, cache: DayCache | None = None
) -> tuple[list[list[str]], dict[str, int]]:
    with session_scope(engine) as session:
        rows, counts = fast_rows(session, by=by, level=level, since=since, until=until, now=now, tz=TZ,  # type: ignore[arg-type]
                                 rules=RULES, directory=DIRECTORY, cache=cache)
    return table(rows), counts


def check_all(engine: Engine, rng: random.Random, rounds: int, cache: DayCache | None = None) -> None:
    first = START.astimezone(TZ).date()
    for _ in range(rounds):
        by, level = rng.choice((("station", "acp"), ("officer", "acp"), ("area", "acp"), ("area", "dcp")))
        since = first + timedelta(days=rng.randrange(-2, 20))
        until = since + timedelta(days=rng.randrange(1, 24))
        now = NOW + timedelta(hours=rng.uniform(-3 * 24, 8 * 24))
        assert actual(engine, by, level, since, until, now, cache) == expected(engine, by, level, since, until, now), (by, level, since, until, now)


def change_after_tally(engine: Engine, ids: list[int]) -> None:
    """What the desk, the officers and the bot do to cases already tallied."""
    with session_scope(engine) as session:
        closed = list(session.exec(select(Complaint).where(Complaint.status == "closed", col(Complaint.action_note).is_not(None)).order_by(col(Complaint.id))))
        settled, no_note, moved = closed[0], closed[1], closed[2]
        # a settled case reopened: its holding reopened days later by another officer
        settled.status, settled.closed_at = "reopen_requested", None
        session.add(AuditEvent(kind="case.reopen", entity="complaint", entity_id=str(settled.id), at=NOW - 2 * H))
        session.add(Assignment(complaint_id=settled.id or 0, docket=settled.docket or "", officer_id="o6", unit_id="s1", station_id="s1",
                               role="assignee", rule="reopened", assigned_at=NOW - 2 * H, status="open", acknowledge_by=NOW - H,
                               act_by=NOW + 20 * H))
        # closed without a note after all: the desk cleared the note
        no_note.action_note = None
        # a correction moving a case to another station: the case's station changes (holdings without one follow)
        moved.station_id = "s4" if moved.station_id != "s4" else "s1"
        session.execute(sa.update(Assignment).where(Assignment.complaint_id == moved.id).values(station_id=None))  # type: ignore[arg-type]
        # a late action-taken reply posted (a bulk UPDATE, as the reply stage writes)
        session.execute(sa.update(Reply).where(Reply.status == "queued").values(status="posted"))  # type: ignore[arg-type]
        # a reassignment across days: an open holding ends and another officer takes it on a later day
        held = session.exec(select(Assignment).where(Assignment.status == "open", Assignment.assigned_at < NOW - timedelta(days=5)).order_by(col(Assignment.id))).first()
        assert held is not None
        held.status, held.ended_at = "moved", held.assigned_at + timedelta(days=3)
        session.add(Assignment(complaint_id=held.complaint_id, docket=held.docket, officer_id="o1", unit_id="s2", station_id="s2",
                               role="assignee", rule="reassigned", assigned_at=held.assigned_at + timedelta(days=3), status="open",
                               acknowledge_by=held.assigned_at + timedelta(days=3, hours=2), act_by=NOW + 40 * H))


@pytest.mark.slow
def test_the_tallied_leaderboard_equals_the_computation_over_all_cases(cases: tuple[Engine, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, ids = cases
    rng = random.Random(5)
    refresher = TallyRefresher(DIRECTORY, TZ, days_per_run=8)
    check_all(engine, rng, 4)  # nothing tallied yet: every day from the cases
    assert refresher.run(engine, NOW)["tally_days"] == 8  # half-way through the backfill, newest first
    check_all(engine, rng, 8)
    change_after_tally(engine, ids)
    check_all(engine, rng, 8)  # touched days from the cases, the rest from the tallies
    while refresher.run(engine, NOW)["tally_days"]:
        pass
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tally_touch")).scalar_one() == 0
    computed: list[tuple[int, int]] = []
    tally_range = fast.tally_range

    def counted(session: Any, a: int, b: int, **kw: Any) -> Any:
        computed.append((a, b))
        return tally_range(session, a, b, **kw)

    monkeypatch.setattr(fast, "tally_range", counted)
    check_all(engine, rng, 10)  # all from the tallies
    today = NOW.astimezone(TZ).date().toordinal()
    with session_scope(engine) as session:
        first = fast.local_day(first_holding_start(session) or 0.0, TZ)
    assert computed and all(a > today or b <= first for a, b in computed), computed  # only days before or after the cases


@pytest.mark.slow
def test_without_the_touched_cases_the_tallies_go_stale(cases: tuple[Engine, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, ids = cases
    refresher = TallyRefresher(DIRECTORY, TZ, days_per_run=100)
    refresher.run(engine, NOW)
    change_after_tally(engine, ids)
    monkeypatch.setattr(fast, "touched_days", lambda session, tz: set())  # broken on purpose
    with pytest.raises(AssertionError):
        check_all(engine, random.Random(5), 40)
    monkeypatch.undo()
    check_all(engine, random.Random(5), 4)


def settle_with_kept_days(engine: Engine, ids: list[int], cache: DayCache) -> None:
    """Days tallied and kept by a reader, then cases of theirs changed and the days tallied again."""
    refresher = TallyRefresher(DIRECTORY, TZ, days_per_run=100)
    refresher.run(engine, NOW)
    check_all(engine, random.Random(5), 12, cache)  # every day read once, and kept
    change_after_tally(engine, ids)
    while refresher.run(engine, NOW)["tally_days"]:
        pass


@pytest.mark.slow
def test_a_kept_day_is_read_again_once_it_is_tallied_again(cases: tuple[Engine, list[int]]) -> None:
    engine, ids = cases
    cache = DayCache()
    settle_with_kept_days(engine, ids, cache)
    check_all(engine, random.Random(5), 40, cache)
    assert cache.size > 0


@pytest.mark.slow
def test_with_a_version_that_does_not_change_the_kept_days_go_stale(cases: tuple[Engine, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, ids = cases
    monkeypatch.setattr(secrets, "randbits", lambda bits: 7)  # broken on purpose: every tally gets version 7
    cache = DayCache()
    settle_with_kept_days(engine, ids, cache)
    with pytest.raises(AssertionError):
        check_all(engine, random.Random(5), 40, cache)
    check_all(engine, random.Random(5), 4)  # read afresh, the same days are right


@pytest.mark.slow
def test_kept_weeks_are_added_again_only_when_one_of_their_days_is_tallied_again(
    cases: tuple[Engine, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page adds up its weeks (the last one short) and keeps them, and the ranked times of all but the recent
    ones, by their days' versions: the same period again adds up and ranks nothing, the period a day later
    (other weeks) adds up its own, and after a case of one day is changed and its day tallied again only that
    day's week is added up again, and the ranked weeks ranked again; every page equals the computation over
    all the cases."""
    engine, ids = cases
    refresher = TallyRefresher(DIRECTORY, TZ, days_per_run=100)
    refresher.run(engine, NOW)
    merged: list[int] = []
    merge = leaderboard_sum.merge

    def counted(days: Any, index: Any) -> Any:
        merged.append(len(days))
        return merge(days, index)

    monkeypatch.setattr(fast, "merge", counted)
    ranked: list[int] = []
    rank_times = leaderboard_sum.rank_times

    def ranking(weeks: Any, n: int) -> Any:
        ranked.append(len(weeks))
        return rank_times(weeks, n)

    monkeypatch.setattr(fast, "rank_times", ranking)
    monkeypatch.setattr(fast, "RECENT_WEEKS", 1)  # only the last week ranked on every page (3 in use: too many for 17 days)
    cache = DayCache()
    with session_scope(engine) as session:
        since = date.fromordinal(fast.local_day(first_holding_start(session) or 0.0, TZ))  # the first day tallied
    until = since + timedelta(days=17)  # two weeks and a short one of 3 days
    for by, level in (("officer", "acp"), ("station", "acp"), ("area", "dcp")):
        merged.clear()
        ranked.clear()
        assert actual(engine, by, level, since, until, NOW, cache) == expected(engine, by, level, since, until, NOW)
        assert merged == [7, 7, 3]
        assert actual(engine, by, level, since, until, NOW + 5 * H, cache) == expected(engine, by, level, since, until, NOW + 5 * H)
        assert merged == [7, 7, 3]  # kept: nothing added up again, later now or not
        assert ranked == [2]  # the times of the weeks but the recent one ranked once, then kept
        ranked.clear()
        later = since + timedelta(days=1)
        assert actual(engine, by, level, later, until, NOW, cache) == expected(engine, by, level, later, until, NOW)
        assert merged == [7, 7, 3, 7, 7, 2]
    # a case first held in the second week is closed without its note: its day is tallied again
    with session_scope(engine) as session:
        second = local_midnight(since + timedelta(days=7), TZ)
        held = session.exec(select(Assignment).where(Assignment.assigned_at >= second, Assignment.assigned_at < second + timedelta(days=7))
                            .order_by(col(Assignment.assigned_at))).first()
        assert held is not None
        case = session.get(Complaint, held.complaint_id)
        assert case is not None
        case.status, case.action_note, case.closed_at = "closed", None, NOW - 3 * H
    merged.clear()
    ranked.clear()
    assert actual(engine, "officer", "acp", since, until, NOW, cache) == expected(engine, "officer", "acp", since, until, NOW)
    assert merged == [7]  # touched, not yet tallied again: its week from the cases, the others kept
    assert ranked == [2]  # a week of the ranked ones changed: ranked again
    while refresher.run(engine, NOW)["tally_days"]:
        pass
    merged.clear()
    ranked.clear()
    assert actual(engine, "officer", "acp", since, until, NOW, cache) == expected(engine, "officer", "acp", since, until, NOW)
    assert merged == [7]  # tallied again: only its week added up again
