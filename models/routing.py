"""Tables and queries for routing: assignments, docket numbers and the notification outbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from models.tables import utcnow
from models.types import UTCDateTime

OPEN = "open"


class DocketSequence(SQLModel, table=True):
    """The last docket number handed out per scope (``BLR-2026``); a row-locked counter on both databases."""

    __tablename__ = "docket_sequence"

    scope: str = Field(primary_key=True, max_length=32)
    last_value: int = 0


class Assignment(SQLModel, table=True):
    """Who holds (or is copied on) a case, chosen by which rule, due by when."""

    __tablename__ = "assignment"
    __table_args__ = (
        sa.Index("ix_assignment_officer_status", "officer_id", "status"),
        # the leaderboard (migration 0011): holdings by start, and the open ones overdue now
        sa.Index("ix_assignment_assigned_at", "assigned_at"),
        sa.Index("ix_assignment_open_ack", "status", "acknowledged_at", "acknowledge_by"),
        sa.Index("ix_assignment_open_act", "status", "acted_at", "act_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    docket: str = Field(max_length=32, index=True)
    officer_id: str | None = Field(default=None, max_length=32)  # None: the desk's queue or a referral
    rank: str | None = Field(default=None, max_length=48)  # the officer's rank when assigned
    unit_id: str | None = Field(default=None, max_length=64)  # the officer's station or office
    station_id: str | None = Field(default=None, max_length=64, index=True)  # the responsible station
    role: str = Field(max_length=24)  # assignee / supervisor_copy / dcp_copy / desk / referral
    rule: str = Field(max_length=48)
    status: str = Field(default=OPEN, max_length=16, index=True)  # open / moved / closed
    assigned_at: datetime = Field(sa_type=UTCDateTime)
    acknowledge_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    act_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # by this holder
    acted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # action reported by this holder
    authority: str | None = Field(default=None, max_length=64)  # a referral's civic authority


class OutboxMessage(SQLModel, table=True):
    """A notification to send once: the officer and channel index name the address, resolved at send time."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    purpose: str = Field(max_length=24)  # assign / copy / reassign / desk_alert
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    officer_id: str = Field(max_length=32)
    channel_index: int = 0
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    priority: int = 0  # higher first: emergencies
    status: str = Field(default="pending", max_length=16)  # pending / sending / sent / failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def next_docket(session: Session, *, prefix: str, year: int) -> str:
    """The next docket number, ``BLR-2026-000123``; see :func:`next_dockets`."""
    return next_dockets(session, prefix=prefix, year=year, count=1)[0]


def next_dockets(session: Session, *, prefix: str, year: int, count: int) -> list[str]:
    """``count`` consecutive docket numbers, unique across processes: the counter row stays locked until
    the caller's transaction ends, and a rollback gives the numbers back."""
    if count <= 0:
        return []
    scope = f"{prefix}-{year}"
    table = DocketSequence.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(table).values(scope=scope, last_value=0).on_conflict_do_nothing())
    statement = (
        sa.update(table)
        .where(table.c.scope == scope)
        .values(last_value=table.c.last_value + count)
        .returning(table.c.last_value)
    )
    last = int(session.execute(statement).scalar_one())
    return [f"{scope}-{value:06d}" for value in range(last - count + 1, last + 1)]


def allocate_dockets(engine: Engine, *, prefix: str, year: int, count: int) -> list[str]:
    """``count`` consecutive docket numbers taken in a transaction of their own, committed at once, so the
    counter row is locked only for that moment (several routing processes share it). A batch that fails or
    a process that dies afterwards leaves the numbers unused: dockets are unique and increasing, with gaps."""
    if count <= 0:
        return []
    with Session(engine) as session:
        dockets = next_dockets(session, prefix=prefix, year=year, count=count)
        session.commit()
    return dockets


def open_load(session: Session, officer_ids: Iterable[str] | None = None) -> dict[str, int]:
    """Open cases held (as assignee) per officer id."""
    statement = (
        select(Assignment.officer_id, sa.func.count())
        .where(col(Assignment.status) == OPEN, col(Assignment.role) == "assignee", col(Assignment.officer_id).is_not(None))
        .group_by(Assignment.officer_id)
    )
    if officer_ids is not None:
        statement = statement.where(col(Assignment.officer_id).in_(list(officer_ids)))
    return {officer: count for officer, count in session.exec(statement).all() if officer is not None}


def open_assignments_of(session: Session, officer_ids: Iterable[str], *, limit: int) -> list[Assignment]:
    """Open assignments held by any of these officers, locked for this transaction (others skip them)."""
    ids = list(officer_ids)
    if not ids:
        return []
    statement = (
        select(Assignment)
        .where(col(Assignment.status) == OPEN, col(Assignment.officer_id).in_(ids))
        .order_by(col(Assignment.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(statement).all())


def assignments_for(session: Session, complaint_ids: Iterable[int]) -> dict[int, list[Assignment]]:
    """Every assignment of these complaints, oldest first (for ``run.py cases`` and the dashboard)."""
    ids = list(complaint_ids)
    found: dict[int, list[Assignment]] = {}
    if ids:
        rows = session.exec(
            select(Assignment).where(col(Assignment.complaint_id).in_(ids)).order_by(col(Assignment.id))
        ).all()
        for row in rows:
            found.setdefault(row.complaint_id, []).append(row)
    return found


def notifications_for(session: Session, complaint_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Outbox counts by status per complaint: ``{complaint_id: {"sent": 2, "pending": 1}}``."""
    ids = list(complaint_ids)
    found: dict[int, dict[str, int]] = {}
    if ids:
        statement = (
            select(OutboxMessage.complaint_id, OutboxMessage.status, sa.func.count())
            .where(col(OutboxMessage.complaint_id).in_(ids))
            .group_by(col(OutboxMessage.complaint_id), col(OutboxMessage.status))
        )
        for complaint_id, status, count in session.exec(statement).all():
            if complaint_id is not None:
                found.setdefault(complaint_id, {})[status] = count
    return found
