"""Account leases: which bot process polls an account, under which epoch, until when.

Several bot processes may share one PostgreSQL. Each account is polled by one process at a time, the
holder of its lease (a row: holder, epoch, expires_at). A process takes a lease that is free or expired,
and taking it bumps the epoch; the holder renews it on every poll and between pages. Every write of the
account's cursor (with the posts it covers, one transaction) first renews the lease *under the epoch the
writer took* (``UPDATE ... WHERE holder = :me AND epoch = :mine``): zero rows means the lease was lost
(the process was paused or cut off past its expiry and another took the account), and the writer rolls
back. So a stale process can never move a cursor back nor store under a lease it lost. A process that dies
holds nothing after ``expires_at``. On SQLite (one process) the same code runs and always holds.

Spreading: each live process writes a heartbeat row (:func:`beat`) every polling interval, so the processes
know how many they are. A process that already holds its fair share (``ceil(accounts / live processes)``)
leaves a free lease for another, and one that holds more (the first to start took everything) gives its
extra leases up as it renews them, so three processes poll about a third of the accounts each. A process
counts as live while its heartbeat is fresh and it either started less than a lease period ago or holds a
lease: one that beats but takes nothing (its polls hung) is not waited for. A lease left free for a whole
lease period is taken by anyone, share or not, and a dead process's heartbeat goes stale as its leases
expire.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from models.mentions import audit
from models.types import UTCDateTime

logger = logging.getLogger(__name__)


class AccountLease(SQLModel, table=True):
    """Who polls an account now. ``epoch`` grows by one each time the lease changes hands."""

    __tablename__ = "account_lease"

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    holder: str | None = Field(default=None, max_length=128)  # host:pid:random of the process
    epoch: int = 0
    acquired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BotHeartbeat(SQLModel, table=True):
    """A bot process alive at ``seen_at`` (written every polling interval; deleted at a clean stop)."""

    __tablename__ = "bot_heartbeat"

    holder: str = Field(primary_key=True, max_length=128)
    started_at: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime)


class LeaseLost(RuntimeError):
    """The lease this process polled under was taken by another process: its write must not happen."""


@dataclass(frozen=True)
class LeaseState:
    holder: str | None
    epoch: int
    expires_at: datetime | None


@dataclass(frozen=True)
class Lease:
    """A lease this process holds: its writes are good while the row still carries this holder and epoch."""

    account_id: int
    holder: str
    epoch: int
    expires_at: datetime


@dataclass(frozen=True)
class LeaseDecision:
    is_granted: bool
    epoch: int
    expires_at: datetime | None
    is_taken: bool = False  # granted by taking it (a new epoch), not by renewing one's own


def make_holder_id() -> str:
    """This process's name on the leases: host:pid:random (a restarted process with a reused pid differs)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


def decide(state: LeaseState | None, *, holder: str, now: datetime, lease_s: float) -> LeaseDecision:
    """Whether ``holder`` may poll now: renew its own live lease (same epoch), take a free or expired one
    (epoch + 1), or be refused while another holds a live one."""
    until = now + timedelta(seconds=lease_s)
    if state is None:
        return LeaseDecision(True, 1, until, is_taken=True)
    is_live = state.holder is not None and state.expires_at is not None and state.expires_at > now
    if is_live and state.holder == holder:
        return LeaseDecision(True, state.epoch, until)
    if is_live:
        return LeaseDecision(False, state.epoch, state.expires_at)
    return LeaseDecision(True, state.epoch + 1, until, is_taken=True)


def is_over_share(*, held_elsewhere: int, share: int, is_taking: bool, free_since: datetime | None,
                  now: datetime, lease_s: float) -> bool:
    """Whether a process holding ``held_elsewhere`` other live leases should leave this one to another
    process: it takes a free one only below its ``share``, and keeps its own only while that keeps it within
    the share. A lease free for a whole lease period is taken whatever the share."""
    if is_taking and free_since is not None and free_since <= now - timedelta(seconds=lease_s):
        return False
    return held_elsewhere >= share


def fair_share(session: Session, *, now: datetime, lease_s: float) -> int:
    """``ceil(accounts / live processes)``: the leases one process should hold (at least one process)."""
    accounts = session.execute(sa.select(sa.func.count()).select_from(AccountLease)).scalar_one()
    beats, leases = BotHeartbeat.__table__, AccountLease.__table__  # type: ignore[attr-defined]
    since = now - timedelta(seconds=lease_s)
    holding = sa.select(leases.c.holder).where(leases.c.expires_at > now, leases.c.holder.is_not(None))
    live = session.execute(
        sa.select(sa.func.count()).select_from(beats).where(
            beats.c.seen_at > since, sa.or_(beats.c.started_at > since, beats.c.holder.in_(holding))
        )
    ).scalar_one()
    return max(1, math.ceil(int(accounts) / max(1, int(live))))


def _held_elsewhere(session: Session, *, holder: str, account_id: int, now: datetime) -> int:
    table = AccountLease.__table__  # type: ignore[attr-defined]
    statement = sa.select(sa.func.count()).select_from(table).where(
        table.c.holder == holder, table.c.expires_at > now, table.c.account_id != account_id
    )
    return int(session.execute(statement).scalar_one())


def acquire(session: Session, account_id: int, *, holder: str, now: datetime, lease_s: float) -> Lease | None:
    """Renew or take the account's lease for ``holder``; None while another process holds it, and None
    when ``holder`` has its fair share already (a lease it held is then given up for another to take).

    The row is locked (``FOR UPDATE``, waiting: the transactions that hold it are short) so two takers
    decide one after the other, and a taker waits for a writer's transaction under the old epoch to end.
    """
    _ensure_row(session, account_id, now)
    row = session.exec(select(AccountLease).where(AccountLease.account_id == account_id).with_for_update()).one()
    previous = LeaseState(row.holder, row.epoch, row.expires_at)
    decision = decide(previous, holder=holder, now=now, lease_s=lease_s)
    if not decision.is_granted or decision.expires_at is None:
        return None
    over = is_over_share(
        held_elsewhere=_held_elsewhere(session, holder=holder, account_id=account_id, now=now),
        share=fair_share(session, now=now, lease_s=lease_s),
        is_taking=decision.is_taken,
        free_since=previous.expires_at,
        now=now,
        lease_s=lease_s,
    )
    if over:
        if not decision.is_taken:  # its own live lease: handed over to a process below its share
            row.holder, row.expires_at = None, now
            session.add(row)
            audit(session, "lease.handed_over", "account", account_id, at=now, holder=holder, epoch=row.epoch)
            logger.info("account %d: lease handed over (this process holds its share of the accounts)", account_id)
        return None
    if decision.is_taken:
        row.acquired_at = now
        if previous.holder is not None and previous.holder != holder:
            logger.info("account %d: lease taken from %s (epoch %d)", account_id, previous.holder, decision.epoch)
        audit(
            session,
            "lease.taken",
            "account",
            account_id,
            at=now,
            holder=holder,
            epoch=decision.epoch,
            previous=previous.holder,
        )
    row.holder = holder
    row.epoch = decision.epoch
    row.expires_at = decision.expires_at
    session.add(row)
    session.flush()
    return Lease(account_id, holder, decision.epoch, decision.expires_at)


def renew(session: Session, lease: Lease, *, now: datetime, lease_s: float) -> Lease:
    """Extend ``lease`` if it is still this holder's under its epoch; raise :class:`LeaseLost` if not.

    Run first in every transaction that writes the account's cursor: the row stays locked until the
    transaction ends, so no other process can take the lease between this check and the commit.
    """
    table = AccountLease.__table__  # type: ignore[attr-defined]
    until = now + timedelta(seconds=lease_s)
    statement = (
        sa.update(table)
        .where(table.c.account_id == lease.account_id, table.c.holder == lease.holder, table.c.epoch == lease.epoch)
        .values(expires_at=until)
        .returning(table.c.epoch)  # a row back only when the epoch matched (psycopg reports rowcount -1)
    )
    if session.execute(statement).first() is None:
        raise LeaseLost(f"account {lease.account_id}: lease epoch {lease.epoch} lost")
    return Lease(lease.account_id, lease.holder, lease.epoch, until)


def release(session: Session, *, holder: str, now: datetime) -> int:
    """Give up every lease ``holder`` holds and its heartbeat (at a clean stop), so another process takes
    them at once and counts one process fewer."""
    table = AccountLease.__table__  # type: ignore[attr-defined]
    statement = sa.update(table).where(table.c.holder == holder).values(holder=None, expires_at=now)
    released = len(session.execute(statement.returning(table.c.account_id)).all())
    beats = BotHeartbeat.__table__  # type: ignore[attr-defined]
    session.execute(sa.delete(beats).where(beats.c.holder == holder))
    return released


def beat(session: Session, *, holder: str, now: datetime, forget_after_s: float) -> None:
    """Say that ``holder`` is alive now; heartbeats older than ``forget_after_s`` (processes long dead)
    are deleted."""
    table = BotHeartbeat.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(holder=holder, started_at=now, seen_at=now)
    session.execute(statement.on_conflict_do_update(index_elements=["holder"], set_={"seen_at": now}))
    session.execute(sa.delete(table).where(table.c.seen_at < now - timedelta(seconds=forget_after_s)))


def hold_exclusive(session: Session, name: str) -> None:
    """Wait until no other process's transaction holds ``name``, and hold it until this transaction ends.

    For a job that reads, decides and writes as a whole (raise an alert once; create an account's rows
    once) and must not run in two processes at the same time. PostgreSQL: a transaction-level advisory
    lock on the name's hash; SQLite (one process, one writer at a time): nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(7336153, hashtext(:name))"), {"name": name})


def _ensure_row(session: Session, account_id: int, now: datetime) -> None:
    """The account's lease row, free since ``now`` when it is new (so it counts as long free in time)."""
    table = AccountLease.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(table).values(account_id=account_id, epoch=0, expires_at=now).on_conflict_do_nothing())
