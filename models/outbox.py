"""The outbox: officer notifications stored with an idempotency key, claimed, sent once, retried with backoff.

Crash window (documented, not hidden): a message is marked ``sending`` in its own committed
transaction *before* Apprise is called and ``sent`` right after. A crash between the two leaves it
``sending``; e-mail and webhooks give no way to ask whether it arrived. Such a row is never sent again
(at most once per intent): once ``sending_timeout_s`` has passed it is marked ``failed`` as
"interrupted" and the desk is told, so a person closes the gap (at least once, by a human).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.bulk import insert_new
from models.routing import OutboxMessage

INTERRUPTED = "interrupted while sending: delivery unknown"
EMERGENCY_PRIORITY = 2  # the priority of an emergency's messages: never held for a digest
DIGEST_PURPOSES = frozenset({"assign", "copy", "reassign"})  # what an officer in digest mode gets batched
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Intent:
    """One message to send once; ``key`` names the intent, e.g. ``assign:{complaint}:{officer}:{channel}``.
    ``due_at``: not before then (a digest window's end); None: at once."""

    key: str
    purpose: str
    complaint_id: int | None
    officer_id: str
    channel_index: int
    subject: str
    body: str
    priority: int = 0
    due_at: datetime | None = None


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    purpose: str
    complaint_id: int | None
    officer_id: str
    channel_index: int
    subject: str
    body: str
    attempts: int
    last_error: str | None = None
    priority: int = 0


def enqueue(session: Session, intents: Sequence[Intent], *, now: datetime) -> int:
    """Store the intents not stored yet (an intent already in the outbox is left alone); the count stored."""
    if not intents:
        return 0
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "idempotency_key": i.key,
            "purpose": i.purpose,
            "complaint_id": i.complaint_id,
            "officer_id": i.officer_id,
            "channel_index": i.channel_index,
            "subject": i.subject,
            "body": i.body.replace("\x00", ""),
            "priority": i.priority,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": i.due_at or now,
            "created_at": now,
        }
        for i in intents
    ]
    return len(insert_new(session, table, rows, unique=["idempotency_key"]))


def claim_due(session: Session, *, now: datetime, limit: int) -> list[Claimed]:
    """Mark up to ``limit`` due messages ``sending`` (highest priority, oldest first); the caller commits
    before sending anything. Rows another process holds are skipped."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(col(OutboxMessage.priority).desc(), col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return _mark_sending(session, statement, now)


def claim_due_for(
    session: Session,
    *,
    officer_id: str,
    channel_index: int,
    purposes: Collection[str],
    below_priority: int,
    now: datetime,
    limit: int,
) -> list[Claimed]:
    """Like :func:`claim_due`, only one officer's channel's messages of these purposes and below this
    priority: the rest of a digest that did not fit in the batch."""
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.officer_id == officer_id,
            OutboxMessage.channel_index == channel_index,
            col(OutboxMessage.purpose).in_(list(purposes)),
            OutboxMessage.priority < below_priority,
        )
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return _mark_sending(session, statement, now)


def _mark_sending(session: Session, statement: SelectOfScalar[OutboxMessage], now: datetime) -> list[Claimed]:
    claimed = []
    for row in session.exec(statement).all():
        row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
        session.add(row)
        claimed.append(_claimed(row))
    return claimed


def mark_sent(session: Session, message_id: int, *, now: datetime) -> None:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    session.execute(
        sa.update(table).where(table.c.id == message_id).values(status="sent", sent_at=now, last_error=None)
    )


def mark_attempt_failed(
    session: Session, message: Claimed, error: str, *, now: datetime, max_attempts: int, delay_s: float
) -> bool:
    """Schedule the next attempt, or mark the message failed for good; True when it failed for good."""
    is_final = message.attempts >= max_attempts
    session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id)
        .values(
            status="failed" if is_final else "pending",
            last_error=error[:500],
            next_attempt_at=now if is_final else now + timedelta(seconds=delay_s),
        )
    )
    return is_final


def fail_interrupted(session: Session, *, now: datetime, timeout_s: float, limit: int = 500) -> list[Claimed]:
    """Messages left ``sending`` longer than ``timeout_s`` (a crash mid-send): marked failed, never resent."""
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "sending",
            col(OutboxMessage.claimed_at) < now - timedelta(seconds=timeout_s),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    found = []
    for row in session.exec(statement).all():
        row.status, row.last_error = "failed", INTERRUPTED
        session.add(row)
        found.append(_claimed(row))
    return found


def _claimed(row: OutboxMessage) -> Claimed:
    assert row.id is not None
    return Claimed(
        row.id,
        row.idempotency_key,
        row.purpose,
        row.complaint_id,
        row.officer_id,
        row.channel_index,
        row.subject,
        row.body,
        row.attempts,
        row.last_error,
        row.priority,
    )


def is_digestible(*, purpose: str, priority: int, every_min: int) -> bool:
    """Whether a message to an officer with this digest setting waits for the window's end."""
    return every_min > 0 and purpose in DIGEST_PURPOSES and priority < EMERGENCY_PRIORITY


def window_end(now: datetime, every_min: int, tz: ZoneInfo) -> datetime:
    """The end (aware UTC) of the digest window holding ``now``; windows restart at local midnight."""
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=tz)
    minute = local.hour * 60 + local.minute
    end = min(MINUTES_PER_DAY, (minute // every_min + 1) * every_min)
    return (midnight + timedelta(minutes=end)).astimezone(now.tzinfo)
