"""Is the loop running? Polls per account, rate budgets, token problems, backlogs, failures and stage errors.

``/health.json`` answers without sign-in for monitoring, so it carries counts, times and the force's own
account labels only: never an error message (a platform's error can quote a post) or a person. The
signed-in ``/health`` page adds each account's last error.

Stage errors are the audit trail's ``stage.failed`` events (entity ``stage``, id the stage's name).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.followup import REPLY_STATUSES, Reply
from models.routing import OutboxMessage
from models.tables import Account, AuditEvent, PollCursor

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
FAILED_REPLY_STATUSES = ("failed", "not_allowed")
STAGE_FAILED = "stage.failed"
RECENT_FAILURES = timedelta(hours=24)
RECENT_STAGE_ERRORS = timedelta(hours=1)


@dataclass(frozen=True)
class AccountHealth:
    platform: str
    label: str
    last_ok_at: datetime | None
    since_last_ok_s: int | None
    failures: int  # failed polls in a row
    rate_remaining: int | None
    rate_reset_at: datetime | None
    is_token_refused: bool
    last_error: str | None  # only on the signed-in page


@dataclass(frozen=True)
class Health:
    checked_at: datetime
    accounts: list[AccountHealth]
    notifications: dict[str, int]  # by status, and failed_24h
    replies: dict[str, int]
    stage_errors: dict[str, int]  # by stage, in the last hour

    @property
    def problems(self) -> list[str]:
        found = []
        for a in self.accounts:
            name = f"{a.platform} {a.label}"
            if a.is_token_refused:
                found.append(f"{name}: the platform refuses the token")
            elif a.last_ok_at is None:
                found.append(f"{name}: not polled successfully yet")
            elif a.failures:
                found.append(f"{name}: the last {a.failures} polls failed")
            if a.rate_remaining == 0 and a.rate_reset_at is not None and a.rate_reset_at > self.checked_at:
                found.append(f"{name}: rate budget spent until {a.rate_reset_at.isoformat()}")
        if self.notifications["failed_24h"]:
            found.append(f"{self.notifications['failed_24h']} notifications failed in the last 24 hours")
        if self.replies["failed_24h"]:
            found.append(f"{self.replies['failed_24h']} replies failed or were not allowed in the last 24 hours")
        if self.stage_errors:
            found.append(f"{sum(self.stage_errors.values())} stage errors in the last hour")
        return found

    def public(self) -> dict[str, Any]:
        """The shape of ``/health.json``: no error text, no personal data."""
        return {
            "status": "problem" if self.problems else "ok",
            "checked_at": self.checked_at.isoformat(),
            "problems": self.problems,
            "accounts": [_public_account(a) for a in self.accounts],
            "notifications": self.notifications,
            "replies": self.replies,
            "stage_errors_1h": {"total": sum(self.stage_errors.values()), "by_stage": self.stage_errors},
        }


def read_health(session: Session, *, now: datetime) -> Health:
    return Health(
        checked_at=now,
        accounts=_accounts(session, now),
        notifications=_backlog(session, OutboxMessage, OUTBOX_STATUSES, ("failed",), now - RECENT_FAILURES),
        replies=_backlog(session, Reply, REPLY_STATUSES, FAILED_REPLY_STATUSES, now - RECENT_FAILURES),
        stage_errors=_stage_errors(session, now - RECENT_STAGE_ERRORS),
    )


def _accounts(session: Session, now: datetime) -> list[AccountHealth]:
    statement = (
        select(Account, PollCursor)
        .join(PollCursor, col(PollCursor.account_id) == col(Account.id), isouter=True)
        .order_by(col(Account.platform), col(Account.label))
    )
    found = []
    for account, cursor in session.exec(statement).all():
        last_ok_at = cursor.last_ok_at if cursor else None
        found.append(
            AccountHealth(
                platform=account.platform,
                label=account.label,
                last_ok_at=last_ok_at,
                since_last_ok_s=int((now - last_ok_at).total_seconds()) if last_ok_at else None,
                failures=cursor.failures if cursor else 0,
                rate_remaining=cursor.rate_remaining if cursor else None,
                rate_reset_at=cursor.rate_reset_at if cursor else None,
                is_token_refused=bool(cursor and cursor.is_auth_failed),
                last_error=cursor.last_error if cursor else None,
            )
        )
    return found


def _backlog(
    session: Session,
    table: type[OutboxMessage] | type[Reply],
    statuses: tuple[str, ...],
    failed: tuple[str, ...],
    since: datetime,
) -> dict[str, int]:
    """Rows by status, and ``failed_24h``: those that ended failed since ``since`` (a final failure
    sets next_attempt_at to its time; a send cut short by a crash keeps the claimed_at of its start)."""
    counts = dict.fromkeys(statuses, 0)
    for status, count in session.exec(select(table.status, sa.func.count()).group_by(col(table.status))).all():
        counts[status] = count
    recent = select(sa.func.count()).where(
        col(table.status).in_(failed),
        sa.or_(col(table.next_attempt_at) >= since, col(table.claimed_at) >= since),
    )
    counts["failed_24h"] = session.exec(recent).one()
    return counts


def _stage_errors(session: Session, since: datetime) -> dict[str, int]:
    statement = (
        select(AuditEvent.entity_id, sa.func.count())
        .where(AuditEvent.kind == STAGE_FAILED, col(AuditEvent.at) >= since)
        .group_by(col(AuditEvent.entity_id))
    )
    return {stage: count for stage, count in session.exec(statement).all()}


def _public_account(account: AccountHealth) -> dict[str, Any]:
    values = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(account).items()}
    values["has_error"] = values.pop("last_error") is not None
    return values
