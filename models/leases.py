"""Account leases: which bot process polls an account, under which epoch, until when.

Several bot processes may share one PostgreSQL. Each account is polled by one process at a time, the
holder of its lease (a row: holder, epoch, expires_at). A process takes a lease that is free or expired,
and taking it bumps the epoch; the holder renews it on every poll and between pages. Every write of the
account's cursor (with the posts it covers, one transaction) first renews the lease *under the epoch the
writer took* (``UPDATE ... WHERE holder = :me AND epoch = :mine``): zero rows means the lease was lost
(the process was paused or cut off past its expiry and another took the account), and the writer rolls
back. So a stale process can never move a cursor back nor store under a lease it lost. A process that dies
holds nothing after ``expires_at``. On SQLite (one process) the same code runs and always holds.
"""

from __future__ import annotations

import logging
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


def acquire(session: Session, account_id: int, *, holder: str, now: datetime, lease_s: float) -> Lease | None:
    """Renew or take the account's lease for ``holder``; None while another process holds it.

    The row is locked (``FOR UPDATE``, waiting: the transactions that hold it are short) so two takers
    decide one after the other, and a taker waits for a writer's transaction under the old epoch to end.
    """
    _ensure_row(session, account_id)
    row = session.exec(select(AccountLease).where(AccountLease.account_id == account_id).with_for_update()).one()
    previous = LeaseState(row.holder, row.epoch, row.expires_at)
    decision = decide(previous, holder=holder, now=now, lease_s=lease_s)
    if not decision.is_granted or decision.expires_at is None:
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
    """Give up every lease ``holder`` holds (at a clean stop), so another process takes them at once."""
    table = AccountLease.__table__  # type: ignore[attr-defined]
    statement = sa.update(table).where(table.c.holder == holder).values(holder=None, expires_at=now)
    return len(session.execute(statement.returning(table.c.account_id)).all())


def hold_exclusive(session: Session, name: str) -> None:
    """Wait until no other process's transaction holds ``name``, and hold it until this transaction ends.

    For a job that reads, decides and writes as a whole (raise an alert once; create an account's rows
    once) and must not run in two processes at the same time. PostgreSQL: a transaction-level advisory
    lock on the name's hash; SQLite (one process, one writer at a time): nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(7336153, hashtext(:name))"), {"name": name})


def _ensure_row(session: Session, account_id: int) -> None:
    table = AccountLease.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(table).values(account_id=account_id, epoch=0).on_conflict_do_nothing())
