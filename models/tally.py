"""Storage of the leaderboard's day tallies (migration 0011): the tallies, the touched cases, the meta row.

``tally_day`` (kind, day) holds one local day's contributions for one kind of group as bytes that
``dashboard.leaderboard_tally`` reads; ``tally_touch`` is written by triggers whenever an input of a case
changes and emptied by the refresher once the case's days are tallied again; ``tally_meta`` says under
which timezone and station → ACP/DCP mapping the tallies were made (another one makes them unusable).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from models.leaderboard import HELD_IN_INDEX, among, epoch
from models.routing import Assignment
from models.tables import Complaint
from models.types import UTCDateTime

_meta = SQLModel.metadata  # beside the other tables: the migrations' drift check sees these too
TALLY_DAY = sa.Table(
    "tally_day",
    _meta,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("day", sa.Integer, primary_key=True),
    sa.Column("keys", sa.Text, nullable=False),
    sa.Column("assigned", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("tallied_at", UTCDateTime(timezone=True), nullable=False),
    sa.Column("version", sa.BigInteger),  # random, new with each write (migration 0014): what a reader may keep
)
TALLY_TOUCH = sa.Table(
    "tally_touch",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("complaint_id", sa.Integer, nullable=False),
    sa.Column("held_at", UTCDateTime(timezone=True)),
)
TALLY_META = sa.Table(
    "tally_meta",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("areas", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
)


# overdue now from small covering indexes (migration 0014): the open holdings not yet acknowledged, not yet
# acted on, and the cases an officer holds
_HOLDING = "status = 'open' AND role = 'assignee' AND officer_id IS NOT NULL"
_HELD = f"status IN ({', '.join(repr(s) for s in HELD_IN_INDEX)})"  # as the overdue query says it
_a, _c = Assignment.__table__, Complaint.__table__  # type: ignore[attr-defined]
for _name, _due, _where in (
    ("ix_assignment_late_ack", _a.c.acknowledge_by, f"{_HOLDING} AND acknowledged_at IS NULL"),
    ("ix_assignment_late_act", _a.c.act_by, f"{_HOLDING} AND acted_at IS NULL"),
):
    sa.Index(_name, _due, _a.c.complaint_id, _a.c.officer_id, _a.c.station_id, _a.c.id, postgresql_where=sa.text(_where), sqlite_where=sa.text(_where))
sa.Index("ix_complaint_held", _c.c.id, _c.c.status, _c.c.station_id, _c.c.is_misconduct, postgresql_where=sa.text(_HELD), sqlite_where=sa.text(_HELD))


@dataclass(frozen=True)
class StoredDay:
    keys: str
    assigned: str
    data: bytes
    version: int | None  # None: written before migration 0014, never kept by a reader


def read_meta(session: Session) -> tuple[str, str] | None:
    row = session.execute(sa.select(TALLY_META.c.timezone, TALLY_META.c.areas).where(TALLY_META.c.id == 1)).first()
    return None if row is None else (row[0], row[1])


def reset(session: Session, *, timezone: str, areas: str, now: datetime) -> None:
    """Drop every tally and say what the next ones are made under."""
    session.execute(sa.delete(TALLY_DAY))
    session.execute(sa.delete(TALLY_META))
    session.execute(sa.insert(TALLY_META).values(id=1, timezone=timezone, areas=areas, updated_at=now))


def day_versions(session: Session, kind: str, first: int, end: int) -> dict[int, int | None]:
    """The stored days in [first, end) of one kind and their versions (nothing else is read)."""
    t = TALLY_DAY.c
    rows = session.execute(sa.select(t.day, t.version).where(t.kind == kind, t.day >= first, t.day < end))
    return {r[0]: r[1] for r in rows}


def read_days(session: Session, kind: str, days: Collection[int], *, with_data: bool = True) -> dict[int, StoredDay]:
    """These stored days of one kind (those still there), each with the version read with it."""
    if not days:
        return {}
    t = TALLY_DAY.c
    data = t.data if with_data else sa.literal(b"", sa.LargeBinary)
    rows = session.execute(sa.select(t.day, t["keys"], t.assigned, data, t.version).where(t.kind == kind, among(session, t.day, list(days))))
    return {r[0]: StoredDay(r[1], r[2], r[3], r[4]) for r in rows}


def tallied_days(session: Session) -> set[int]:
    return {r[0] for r in session.execute(sa.select(TALLY_DAY.c.day).where(TALLY_DAY.c.kind == "station"))}


def write_days(session: Session, rows: Iterable[tuple[str, int, tuple[str, str, bytes]]], *, now: datetime) -> None:
    """(kind, day, packed) rows replacing what was there, each with a new random version (never one a reader
    kept, even after a reset: no counter to start again)."""
    values = [
        {"kind": k, "day": d, "keys": p[0], "assigned": p[1], "data": p[2], "tallied_at": now, "version": secrets.randbits(62)}
        for k, d, p in rows
    ]
    for v in values:
        session.execute(sa.delete(TALLY_DAY).where(TALLY_DAY.c.kind == v["kind"], TALLY_DAY.c.day == v["day"]))
    if values:
        session.execute(sa.insert(TALLY_DAY), values)


def touches(session: Session, *, limit: int | None = None) -> list[tuple[int, int, float | None]]:
    """(touch id, complaint id, a holding's former start or None), oldest first."""
    t = TALLY_TOUCH.c
    statement = sa.select(t.id, t.complaint_id, epoch(t.held_at)).order_by(t.id)
    return [(r[0], r[1], r[2]) for r in session.execute(statement.limit(limit) if limit else statement)]


def delete_touches(session: Session, ids: Collection[int]) -> None:
    if ids:
        session.execute(sa.delete(TALLY_TOUCH).where(among(session, TALLY_TOUCH.c.id, list(ids))))


def holding_starts(session: Session, complaint_ids: Collection[int]) -> list[float]:
    """When each officer's holding of these cases started (their days are the cases' days)."""
    if not complaint_ids:
        return []
    a = Assignment.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(epoch(a.c.assigned_at)).where(
            among(session, a.c.complaint_id, list(complaint_ids)), a.c.role == "assignee", a.c.officer_id.is_not(None)
        )
    )
    return [r[0] for r in rows]


def first_holding_start(session: Session) -> float | None:
    a = Assignment.__table__  # type: ignore[attr-defined]
    return session.execute(sa.select(epoch(sa.func.min(a.c.assigned_at)))).scalar_one_or_none()


def counts_by_kind(session: Session) -> Mapping[str, int]:
    rows = session.execute(sa.select(TALLY_DAY.c.kind, sa.func.count()).group_by(TALLY_DAY.c.kind))
    return {r[0]: int(r[1]) for r in rows}
