"""The facts the leaderboard is computed from, for one period, in a few indexed queries.

A case is loaded when an officer's holding of it (an ``assignee`` assignment with an officer) started in
[since, until), or when a holding of it is open now with a deadline passed (overdue now is about now, not
the period). With each such case come all its holdings, its escalation steps, the officers' action-taken
replies posted and its reopenings; :mod:`dashboard.leaderboard` turns them into the measures.

Times here are POSIX seconds (UTC, floats) computed by the database, not datetimes: the measures compare
and subtract them by the hundred thousand, and parsing that many datetimes would cost more than the query.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

from models.followup import Escalation, Reply
from models.routing import Assignment
from models.tables import AuditEvent, Complaint, Mention

OFFICER_REPLY = "action_taken"  # the only reply that carries the officer's own words; the rest are the bot's


class epoch(sa.sql.expression.FunctionElement[float]):
    """A timestamp column as POSIX seconds (float) on SQLite and PostgreSQL."""

    type = sa.Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


class CaseFact(NamedTuple):
    complaint_id: int
    docket: str
    station_id: str | None
    status: str
    is_misconduct: bool
    posted_at: float  # the citizen's first post (the case's filing time when no post is left)
    closed_at: float | None  # None unless closed now (a reopen clears it)
    has_note: bool  # an action-taken note is on the case


class HoldingFact(NamedTuple):
    """One officer holding one case: an ``assignee`` assignment. A reassignment or a reopen starts another."""

    assignment_id: int
    complaint_id: int
    officer_id: str
    station_id: str | None  # the responsible station when it was assigned (else the case's)
    is_open: bool
    assigned_at: float
    ended_at: float | None
    acknowledge_by: float | None
    act_by: float | None
    acknowledged_at: float | None  # by this holder
    acted_at: float | None  # the action reported by this holder
    steps: int = 0  # escalation steps of deadlines passed while this holder held it (they are the holder)


class ReplyFact(NamedTuple):
    complaint_id: int
    created_at: float  # when the officer's report planned it (the report's time)


class ReopenFact(NamedTuple):
    complaint_id: int
    at: float


@dataclass(frozen=True)
class Facts:
    cases: Mapping[int, CaseFact]
    holdings: tuple[HoldingFact, ...]
    replies: tuple[ReplyFact, ...] = ()  # the officers' action-taken replies that were posted
    reopens: tuple[ReopenFact, ...] = ()


def load_facts(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    stations: Collection[str] | None = None,
    held_at: Collection[str] | None = None,
    held_by: Collection[str] | None = None,
    with_overdue: bool = True,
) -> Facts:
    """The facts of the cases held in [since, until) or overdue at ``now``; with ``stations``, only the
    holdings whose station is one of them (a supervisor's area). ``held_at`` (stations) and ``held_by``
    (officers) keep only the cases one of whose holdings is there or theirs, with all their holdings: the
    same numbers for those groups, for less (the drill-down). Without ``with_overdue`` only the cases held
    in the period (the day tallies). The assignments are read once; the replies and reopenings are looked
    up by the cases found."""
    a, c = Assignment.__table__, Complaint.__table__  # type: ignore[attr-defined]
    m, e = Mention.__table__, Escalation.__table__  # type: ignore[attr-defined]
    holding = sa.and_(a.c.role == "assignee", a.c.officer_id.is_not(None))
    station = sa.func.coalesce(a.c.station_id, c.c.station_id)
    held_then = sa.select(a.c.complaint_id).where(holding, a.c.assigned_at >= since, a.c.assigned_at < until)
    overdue = sa.select(a.c.complaint_id).where(
        holding,
        a.c.status == "open",
        sa.or_(
            sa.and_(a.c.acknowledge_by <= now, a.c.acknowledged_at.is_(None)),
            sa.and_(a.c.act_by <= now, a.c.acted_at.is_(None)),
        ),
    )
    narrow = []
    if held_at is not None:
        narrow.append(sa.func.coalesce(a.c.station_id, sa.select(c.c.station_id).where(c.c.id == a.c.complaint_id).scalar_subquery()).in_(sorted(held_at)))
    if held_by is not None:
        narrow.append(a.c.officer_id.in_(sorted(held_by)))
    if with_overdue:
        cohort = sa.union(held_then.where(*narrow), overdue.where(*narrow)).subquery("cohort")
    else:
        cohort = held_then.where(*narrow).distinct().subquery("cohort")
    first_post = sa.select(sa.func.min(m.c.created_at)).where(m.c.complaint_id == c.c.id).scalar_subquery()
    steps = (
        sa.select(sa.func.count())
        .where(e.c.assignment_id == a.c.id, e.c.holder_id == a.c.officer_id)
        .scalar_subquery()
    )
    has_note = sa.case((sa.func.length(sa.func.coalesce(c.c.action_note, "")) > 0, 1), else_=0)
    rows = session.execute(
        sa.select(
            a.c.id,
            a.c.complaint_id,
            a.c.officer_id,
            station,
            a.c.status,
            epoch(a.c.assigned_at),
            epoch(a.c.ended_at),
            epoch(a.c.acknowledge_by),
            epoch(a.c.act_by),
            epoch(a.c.acknowledged_at),
            epoch(a.c.acted_at),
            steps,
            c.c.docket,
            c.c.station_id,
            c.c.status,
            c.c.is_misconduct,
            epoch(sa.func.coalesce(first_post, c.c.created_at)),
            epoch(c.c.closed_at),
            has_note,
        )
        .select_from(cohort.join(a, a.c.complaint_id == cohort.c.complaint_id).join(c, c.c.id == a.c.complaint_id))
        .where(holding, *([station.in_(sorted(stations))] if stations is not None else []))
    ).all()
    cases: dict[int, CaseFact] = {}
    holdings: list[HoldingFact] = []
    for r in rows:
        holdings.append(HoldingFact(r[0], r[1], r[2], r[3], r[4] == "open", *r[5:12]))
        if r[1] not in cases:
            cases[r[1]] = CaseFact(r[1], r[12] or f"#{r[1]}", r[13], r[14], bool(r[15]), r[16], r[17], bool(r[18]))
    if not cases:
        return Facts({}, ())
    return Facts(cases, tuple(holdings), _replies(session, cases), _reopens(session, since, cases))


def among(session: Session, column: sa.ColumnElement[Any], ids: Collection[int | str]) -> sa.ColumnElement[bool]:
    """``column`` is one of ``ids``, bound as one parameter however many there are."""
    if session.get_bind().dialect.name == "postgresql":
        kind = sa.Text if any(isinstance(i, str) for i in ids) else sa.Integer
        return column == sa.any_(sa.bindparam("ids", list(ids), type_=postgresql.ARRAY(kind)))
    values: sa.Select[Any] = sa.select(sa.literal_column("value")).select_from(sa.func.json_each(sa.bindparam("ids", json.dumps(list(ids)))))
    return column.in_(values)


def _replies(session: Session, cases: Mapping[int, CaseFact]) -> tuple[ReplyFact, ...]:
    r = Reply.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(r.c.complaint_id, epoch(r.c.created_at)).where(
            among(session, r.c.complaint_id, cases), r.c.kind == OFFICER_REPLY, r.c.status == "posted"
        )
    ).all()
    return tuple(ReplyFact(*row) for row in rows)


def _reopens(session: Session, since: datetime, cases: Mapping[int, CaseFact]) -> tuple[ReopenFact, ...]:
    """A case reopens only after it was held, so only reopenings from ``since`` on can be a loaded case's
    (an overdue case from before the period may have older ones: they do not change "overdue now").
    Looked up by the cases' ids (``entity_id`` is indexed), not by time: a day long ago has few."""
    t = AuditEvent.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(t.c.entity_id, epoch(t.c.at)).where(
            among(session, t.c.entity_id, [str(i) for i in cases]),
            t.c.kind == "case.reopen",
            t.c.entity == "complaint",
            t.c.at >= since,
        )
    ).all()
    found = []
    for entity_id, at in rows:
        complaint_id = int(entity_id) if str(entity_id).isdigit() else -1
        if complaint_id in cases:
            found.append(ReopenFact(complaint_id, at))
    return tuple(found)


class OverdueGroup(NamedTuple):
    officer_id: str
    station_id: str | None  # the holding's responsible station (else the case's)
    is_misconduct: bool
    holdings: int


HELD_IN_INDEX = ("assigned", "acknowledged", "reopen_requested")  # ix_complaint_held's statuses (models.tally), in its order


def overdue_groups(session: Session, *, now: datetime, held: Collection[str], to_acknowledge: Collection[str]) -> list[OverdueGroup]:
    """The holdings open now with a deadline passed and not met, counted per officer, station and misconduct
    flag (all that says whose they are): overdue now in one grouped query, not a row per holding. A holding
    counts while its case's status is one of ``held``; a missed acknowledgement only while it is one of
    ``to_acknowledge``. The deadlines are compared as POSIX seconds, as the measures compare them. Each half
    (acknowledgement, action) reads only migration 0014's partial indexes, never the tables."""
    a, c = Assignment.__table__, Complaint.__table__  # type: ignore[attr-defined]
    at = now.timestamp()
    # written out, not bound: SQLite takes a partial index only for a query that says its WHERE in the same words
    holding = (a.c.status == sa.literal_column("'open'"), a.c.role == sa.literal_column("'assignee'"), a.c.officer_id.is_not(None))
    held_statuses = sorted(map(str, held))
    if set(held_statuses) == set(HELD_IN_INDEX):  # the list of ix_complaint_held, as it says it: SQLite then reads that index alone
        held_statuses = list(HELD_IN_INDEX)
    is_held = c.c.status.in_([sa.literal_column(f"'{s}'") for s in held_statuses])
    not_to_acknowledge = set(held_statuses) - set(map(str, to_acknowledge))  # a NOT IN: the planners keep to the indexes
    station = sa.func.coalesce(a.c.station_id, c.c.station_id).label("station")
    columns = (a.c.id, a.c.officer_id, station, c.c.is_misconduct)
    on_case = c.c.id == a.c.complaint_id
    late_ack = sa.select(*columns).join(c, on_case).where(
        *holding, a.c.acknowledged_at.is_(None), a.c.acknowledge_by <= now, epoch(a.c.acknowledge_by) <= at,
        is_held, *([c.c.status.not_in(sorted(not_to_acknowledge))] if not_to_acknowledge else []),
    )
    late_act = sa.select(*columns).join(c, on_case).where(
        *holding, a.c.acted_at.is_(None), a.c.act_by <= now, epoch(a.c.act_by) <= at, is_held,
    )
    late = sa.union(late_ack, late_act).subquery("late")  # a holding late on both counts once
    rows = session.execute(
        sa.select(late.c.officer_id, late.c.station, late.c.is_misconduct, sa.func.count())
        .group_by(late.c.officer_id, late.c.station, late.c.is_misconduct)
    ).all()
    return [OverdueGroup(r[0], r[1], bool(r[2]), int(r[3])) for r in rows]
