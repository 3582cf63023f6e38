"""Operators are told, not left to read logs: the watch stage tells the desk when the bot needs a person.

Each run looks at the bot's own health, as the database records it: an account with no successful poll for
``no_poll_min`` minutes, an account whose token the platform rejects, a stage that failed ``stage_failures``
times in the last ``stage_window_min`` minutes, and an outbox (notifications or replies) whose due backlog
passed ``backlog_limit``. A condition that starts is one message to every desk officer; the same condition
going on sends nothing more; when it ends, one message says so. The state of each condition is its last
``alert.raised`` / ``alert.cleared`` event on the audit trail, so a restart neither repeats nor forgets one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.db import session_scope
from models.followup import Reply
from models.leases import hold_exclusive
from models.mentions import audit
from models.routing import OutboxMessage
from models.tables import Account, AuditEvent, PollCursor
from monitor.followup.notices import desk_ids, tell
from monitor.followup.people import People

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchSettings:
    no_poll_min: float = 15.0
    stage_failures: int = 3
    stage_window_min: float = 10.0
    backlog_limit: int = 500


@dataclass(frozen=True)
class Condition:
    key: str  # e.g. poll:3, token:3, stage:notify, backlog:outbox
    what: str  # for a person: what is wrong, or what has recovered


class WatchStage:
    name = "watch"

    def __init__(self, people: People, settings: WatchSettings = WatchSettings()) -> None:
        self._people = people
        self._settings = settings

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        counts = {"alerts_raised": 0, "alerts_cleared": 0}
        with session_scope(engine) as session:
            hold_exclusive(session, "watch")  # two bot processes never raise one alert twice
            current = {c.key: c for c in self.conditions(session, now)}
            raised = self._raised(session)
            for key in sorted(set(current) | set(raised)):
                if key in current and key not in raised:
                    self._tell(session, key, "alert.raised", f"Needs a person: {current[key].what}", now)
                    counts["alerts_raised"] += 1
                elif key not in current and key in raised:
                    self._tell(session, key, "alert.cleared", f"Recovered, no longer: {raised[key]}", now)
                    counts["alerts_cleared"] += 1
        return counts

    def conditions(self, session: Session, now: datetime) -> list[Condition]:
        """What is wrong now."""
        s = self._settings
        found = []
        stale_before = now - timedelta(minutes=s.no_poll_min)
        rows = session.exec(select(Account, PollCursor).join(PollCursor, col(PollCursor.account_id) == col(Account.id))).all()
        for account, cursor in rows:
            if cursor.is_auth_failed:
                found.append(Condition(f"token:{account.id}", f"{account.label}: the platform rejects its token; re-authorise it"))
            last_ok = cursor.last_ok_at or account.created_at
            if last_ok < stale_before:
                minutes = int((now - last_ok).total_seconds() // 60)
                found.append(Condition(f"poll:{account.id}", f"{account.label}: no successful poll for {minutes} minutes"))
        since = now - timedelta(minutes=s.stage_window_min)
        failing = session.exec(
            select(AuditEvent.entity_id, sa.func.count())
            .where(AuditEvent.kind == "stage.failed", col(AuditEvent.at) >= since)
            .group_by(col(AuditEvent.entity_id))
        ).all()
        for stage, times in failing:
            if times >= s.stage_failures:
                found.append(Condition(f"stage:{stage}", f"the {stage} stage failed {times} times in {s.stage_window_min:.0f} minutes"))
        for table, noun in ((OutboxMessage, "notifications"), (Reply, "replies")):
            due = session.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(col(table.status) == "pending", col(table.next_attempt_at) <= now)
            ).scalar_one()
            if due > s.backlog_limit:
                found.append(Condition(f"backlog:{noun}", f"{due} {noun} are due and waiting (limit {s.backlog_limit})"))
        return found

    def _raised(self, session: Session) -> dict[str, str]:
        """The conditions whose last event is ``alert.raised``, with what it said was wrong."""
        latest = (
            select(AuditEvent.entity_id, sa.func.max(AuditEvent.id).label("last"))
            .where(AuditEvent.entity == "alert")
            .group_by(col(AuditEvent.entity_id))
            .subquery()
        )
        rows = session.exec(
            select(AuditEvent).join(latest, col(AuditEvent.id) == latest.c.last).where(AuditEvent.kind == "alert.raised")
        ).all()
        return {e.entity_id: str(e.detail.get("text", "")).removeprefix("Needs a person: ") for e in rows}

    def _tell(self, session: Session, key: str, kind: str, text: str, now: datetime) -> None:
        audit(session, kind, "alert", key, at=now, text=text)
        session.flush()
        event_id = session.execute(sa.select(sa.func.max(AuditEvent.id)).where(col(AuditEvent.entity_id) == key)).scalar_one()
        logger.log(logging.WARNING if kind == "alert.raised" else logging.INFO, "%s", text)
        tell(
            session,
            self._people,
            desk_ids(self._people),
            key=f"{kind}:{key}:{event_id}",
            purpose="operator_alert",
            complaint_id=None,
            subject=text[:300],
            body=text,
            now=now,
            is_urgent=kind == "alert.raised",
        )

