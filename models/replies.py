"""Queries on the reply outbox (``models.followup.Reply``): claim, mark sending, posted or failed, reconcile.

A row goes ``pending`` → ``sending`` (committed before the platform is called) → ``posted`` with the
platform's id, or ``failed`` / ``not_allowed`` with the reason. ``attempts`` counts the tries that failed
and are retried (an outage, an unreadable answer, a lookup that could not be made); waiting out a rate
limit, a rejected token or the daily cap counts nothing. Rows another process holds are skipped
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite runs one process).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.followup import Reply
from models.tables import Account, AuditEvent, Mention

DAILY_CAP_KIND = "reply.daily_cap"


@dataclass(frozen=True)
class ClaimedReply:
    """A reply row as it was claimed: what the platform call needs, outside any session."""

    id: int
    complaint_id: int
    mention_id: int
    account_id: int
    kind: str
    platform: str
    in_reply_to: str
    text: str
    marker: str
    is_private: bool
    priority: int
    attempts: int


def accounts_with_work(session: Session, *, now: datetime, sending_before: datetime) -> list[int]:
    """Accounts with a reply due, or one left ``sending`` since before ``sending_before``; the account
    with the most urgent reply first."""
    is_due = sa.and_(col(Reply.status) == "pending", col(Reply.next_attempt_at) <= now)
    is_stale = sa.and_(col(Reply.status) == "sending", col(Reply.claimed_at) < sending_before)
    statement = (
        select(Reply.account_id)
        .where(sa.or_(is_due, is_stale))
        .group_by(col(Reply.account_id))
        .order_by(sa.func.max(Reply.priority).desc(), col(Reply.account_id))
    )
    return list(session.exec(statement).all())


def claim_stale(
    session: Session, *, account_id: int, sending_before: datetime, now: datetime, limit: int
) -> list[ClaimedReply]:
    """The account's rows left ``sending`` since before ``sending_before`` (the bot died between posting
    and recording). ``claimed_at`` becomes ``now``, so another process leaves them alone while this one
    looks them up."""
    statement = (
        select(Reply)
        .where(Reply.account_id == account_id, Reply.status == "sending", col(Reply.claimed_at) < sending_before)
        .order_by(col(Reply.claimed_at), col(Reply.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for row in session.exec(statement).all():
        row.claimed_at = now
        session.add(row)
        claimed.append(_claimed(row))
    return claimed


def claim_next(session: Session, *, account_id: int, now: datetime) -> ClaimedReply | None:
    """The account's most urgent due reply (highest priority, then the longest due), marked ``sending``;
    the caller commits before calling the platform. None when nothing is due."""
    row = session.exec(_due(account_id, now).limit(1).with_for_update(skip_locked=True)).first()
    if row is None:
        return None
    row.status, row.claimed_at = "sending", now
    session.add(row)
    return _claimed(row)


def peek_due(session: Session, *, account_id: int, now: datetime) -> ClaimedReply | None:
    """The reply :func:`claim_next` would take, left as it is."""
    row = session.exec(_due(account_id, now).limit(1)).first()
    return _claimed(row) if row is not None else None


def parent_and_account(session: Session, *, reply: ClaimedReply) -> tuple[Mention | None, Account | None]:
    """The citizen's post the reply answers and the account that replies."""
    return session.get(Mention, reply.mention_id), session.get(Account, reply.account_id)


def mark_posted(session: Session, *, reply_id: int, external_id: str, now: datetime) -> None:
    _update(session, reply_id, status="posted", external_id=external_id[:64], posted_at=now, last_error=None)


def mark_closed(session: Session, *, reply_id: int, status: str, reason: str, counts_attempt: bool = False) -> None:
    """End the row ``failed`` or ``not_allowed`` with the reason; it is never tried again."""
    if status not in ("failed", "not_allowed"):
        raise ValueError(f"a closed reply is failed or not_allowed, not {status!r}")
    values: dict[str, object] = {"status": status, "last_error": reason[:500]}
    if counts_attempt:
        values["attempts"] = Reply.attempts + 1
    _update(session, reply_id, **values)


def reschedule(session: Session, *, reply_id: int, at: datetime, reason: str, counts_attempt: bool) -> int:
    """Back to ``pending`` until ``at``; the attempts after this one."""
    values: dict[str, object] = {"status": "pending", "next_attempt_at": at, "claimed_at": None}
    values["last_error"] = reason[:500]
    if counts_attempt:
        values["attempts"] = Reply.attempts + 1
    _update(session, reply_id, **values)
    return _attempts(session, reply_id)


def note_unchecked(session: Session, *, reply_id: int, reason: str) -> int:
    """A row left ``sending`` whose lookup failed stays ``sending`` (posted or not, nobody knows yet) and
    counts an attempt; the attempts after this one."""
    _update(session, reply_id, attempts=Reply.attempts + 1, last_error=reason[:500])
    return _attempts(session, reply_id)


def hold_account(session: Session, *, account_id: int, until: datetime) -> int:
    """Every pending reply of the account due before ``until`` waits until then; how many."""
    statement = (
        sa.update(Reply)
        .where(col(Reply.account_id) == account_id, col(Reply.status) == "pending", col(Reply.next_attempt_at) < until)
        .values(next_attempt_at=until)
    )
    return session.exec(statement).rowcount


def lock_account(session: Session, *, account_id: int) -> None:
    """Hold the account's row until the transaction ends: its replies are counted and claimed one process at
    a time (the daily cap)."""
    session.exec(select(Account.id).where(Account.id == account_id).with_for_update()).first()


def posted_since(session: Session, *, account_id: int, since: datetime) -> int:
    """Replies of the account posted since ``since``, and those being posted now (``sending``)."""
    statement = (
        select(sa.func.count())
        .select_from(Reply)
        .where(
            Reply.account_id == account_id,
            sa.or_(
                sa.and_(col(Reply.status) == "posted", col(Reply.posted_at) >= since),
                col(Reply.status) == "sending",
            ),
        )
    )
    return int(session.exec(statement).one())


def cap_told_since(session: Session, *, account_id: int, since: datetime) -> bool:
    """Whether the desk was told since ``since`` that the account reached its daily cap."""
    statement = select(AuditEvent.id).where(
        AuditEvent.kind == DAILY_CAP_KIND,
        AuditEvent.entity == "account",
        AuditEvent.entity_id == str(account_id),
        col(AuditEvent.at) >= since,
    )
    return session.exec(statement.limit(1)).first() is not None


def _due(account_id: int, now: datetime) -> SelectOfScalar[Reply]:
    return (
        select(Reply)
        .where(Reply.account_id == account_id, Reply.status == "pending", col(Reply.next_attempt_at) <= now)
        .order_by(col(Reply.priority).desc(), col(Reply.next_attempt_at), col(Reply.id))
    )


def _update(session: Session, reply_id: int, **values: object) -> None:
    session.execute(sa.update(Reply).where(col(Reply.id) == reply_id).values(**values))


def _attempts(session: Session, reply_id: int) -> int:
    return int(session.exec(select(Reply.attempts).where(Reply.id == reply_id)).one())


def _claimed(row: Reply) -> ClaimedReply:
    assert row.id is not None  # a stored row
    return ClaimedReply(
        row.id,
        row.complaint_id,
        row.mention_id,
        row.account_id,
        row.kind,
        row.platform,
        row.in_reply_to,
        row.text,
        row.marker,
        row.is_private,
        row.priority,
        row.attempts,
    )
