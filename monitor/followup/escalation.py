"""The escalation stage: reminders before each deadline, steps up the chain after it, the overdue digest.

Each cycle reads the open assignee assignments in batches, each batch claimed with ``FOR UPDATE SKIP
LOCKED`` (processes share the work; on SQLite, one process), asks the planner
(:mod:`monitor.followup.deadlines`) what is due, and writes it in the batch's transaction: an
:class:`~models.followup.Escalation` row per step (its unique key makes a step happen once, whoever races
for it), the messages in the notification outbox (one per officer channel, keyed by the intent, so never
twice) and the audit trail (``reminder.sent``, ``escalation.step``, ``overdue.digest``). A reminder or a
digest is recorded only by the process whose messages were stored. Reminders and escalations are never held
for an officer's digest (their purposes are not digestible); an emergency's go first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from models.db import session_scope
from models.deadlines import DeadlinePolicy
from models.followup import Escalation
from models.lifecycle import HELD
from models.mentions import audit
from models.outbox import EMERGENCY_PRIORITY, Intent, enqueue
from models.routing import OPEN, Assignment
from models.tables import AuditEvent, Complaint
from monitor.followup.deadlines import (
    Cadence,
    Done,
    HeldCase,
    OverdueDigest,
    Reminder,
    Step,
    digest_period,
    plan_digests,
    plan_reminders,
    plan_steps,
)
from monitor.followup.people import People

logger = logging.getLogger(__name__)
MAX_DIGEST_LINES = 200  # beyond this the digest gives the count and the link to the dashboard
_VERB: dict[str, tuple[str, str]] = {"acknowledge": ("acknowledge", "acknowledged"), "action": ("act on", "acted on")}


@dataclass(frozen=True)
class EscalationSettings:
    dashboard_base_url: str = "http://127.0.0.1:8000"
    reminder_at_fraction: float = 0.75
    reminder_lead_min: int | None = None  # set: the reminder goes this long before the deadline
    digest_every_days: int = 14
    digest_at: time = time(9, 0)  # local time of day a digest period starts
    batch_size: int = 500

    @property
    def cadence(self) -> Cadence:
        return Cadence(self.reminder_at_fraction, self.reminder_lead_min, self.digest_every_days, self.digest_at)


class EscalationStage:
    name = "escalate"

    def __init__(
        self,
        people: People,
        settings: EscalationSettings = EscalationSettings(),
        *,
        policy: DeadlinePolicy | None = None,
    ) -> None:
        self._people = people
        self._settings = settings
        self._policy = policy or DeadlinePolicy(tz=people.tz)
        self._cadence = settings.cadence

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        counts = {"reminders": 0, "escalations": 0, "overdue_digests": 0}
        after = 0
        while True:
            with session_scope(engine) as session:
                cases = _claim_held(session, after=after, limit=self._settings.batch_size, now=now)
                if cases:
                    after = cases[-1].assignment_id
                    done = _done(session, cases)
                    for step in plan_steps(cases, done, self._people, self._policy, now):
                        counts["escalations"] += self._escalate(session, step, now)
                    for reminder in plan_reminders(cases, done, self._people, self._cadence, now):
                        counts["reminders"] += self._remind(session, reminder, now)
            if len(cases) < self._settings.batch_size:
                break
        with session_scope(engine) as session:
            counts["overdue_digests"] = self._digest(session, now)
        if any(counts.values()):
            logger.info(
                "escalate: %d reminders, %d escalation steps, %d overdue digests",
                counts["reminders"],
                counts["escalations"],
                counts["overdue_digests"],
            )
        return counts

    # -- writing what the planner asked for ------------------------------------------------------------
    def _escalate(self, session: Session, step: Step, now: datetime) -> int:
        case = step.case
        table = Escalation.__table__  # type: ignore[attr-defined]
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        row = {
            "complaint_id": case.complaint_id,
            "assignment_id": case.assignment_id,
            "docket": case.docket,
            "holder_id": step.holder_id,
            "deadline": step.deadline,
            "step": step.step,
            "escalated_to": step.escalated_to,
            "unit_id": step.unit_id,
            "due_at": step.due_at,
            "at": now,
        }
        statement = insert(table).values(row).on_conflict_do_nothing().returning(table.c.id)
        if session.execute(statement).scalar_one_or_none() is None:
            return 0  # another process wrote this step
        subject, body = self._step_message(step, now)
        key = f"escalate:{case.assignment_id}:{step.deadline}:{step.step}"
        told = self._tell(session, step.to, key, "escalation", case, subject, body, now, urgent=True)
        audit(
            session,
            "escalation.step",
            "complaint",
            case.complaint_id,
            at=now,
            docket=case.docket,
            assignment=case.assignment_id,
            deadline=step.deadline,
            step=step.step,
            holder=step.holder_id,
            to=step.escalated_to,
            unit=step.unit_id,
            desk=step.is_to_desk,
            told=told,
            due_at=step.due_at.isoformat(),
        )
        return 1

    def _remind(self, session: Session, reminder: Reminder, now: datetime) -> int:
        case = reminder.case
        subject, body = self._reminder_message(reminder, now)
        key = f"reminder:{case.assignment_id}:{reminder.deadline}"
        told = self._tell(session, [reminder.officer_id], key, "reminder", case, subject, body, now)
        if told is None:
            return 0  # another process sent it
        audit(
            session,
            "reminder.sent",
            "complaint",
            case.complaint_id,
            at=now,
            docket=case.docket,
            assignment=case.assignment_id,
            deadline=reminder.deadline,
            officer=reminder.officer_id,
            deadline_at=reminder.deadline_at.isoformat(),
        )
        return 1

    def _digest(self, session: Session, now: datetime) -> int:
        first_day = digest_period(now, self._cadence, self._people.tz)
        if _digest_done(session, first_day):
            return 0
        digests = plan_digests(_overdue_held(session, now), Done(), self._people, self._cadence, now)
        sent = 0
        for digest in digests:
            subject, body = self._digest_message(digest, now)
            key = f"overdue:{digest.period_start.isoformat()}"
            told = self._tell(session, [digest.officer_id], key, "overdue_digest", None, subject, body, now)
            if told is None:
                continue
            audit(
                session,
                "overdue.digest",
                "overdue_digest",
                digest.period_start.isoformat(),
                at=now,
                officer=digest.officer_id,
                unit=digest.unit_id,
                cases=len(digest.cases),
                dockets=[o.case.docket for o in digest.cases[:MAX_DIGEST_LINES]],
            )
            sent += 1
        return sent

    def _tell(
        self,
        session: Session,
        officer_ids: Iterable[str],
        key: str,
        purpose: str,
        case: HeldCase | None,
        subject: str,
        body: str,
        now: datetime,
        *,
        urgent: bool = False,
    ) -> list[str] | None:
        """Enqueue the message on every channel of each active officer; the officers told, or None when
        every message was stored already (another process got there first)."""
        is_emergency = case is not None and case.is_emergency
        is_vip = case is not None and case.is_vip
        priority = EMERGENCY_PRIORITY if is_emergency else 1 if urgent or is_vip else 0
        told: list[str] = []
        intents: list[Intent] = []
        for officer_id in dict.fromkeys(officer_ids):
            officer = self._people.officers.get(officer_id)
            if officer is None or not officer.is_active:
                continue
            told.append(officer_id)
            complaint_id = case.complaint_id if case is not None else None
            intents += [
                Intent(f"{key}:{officer_id}:{i}", purpose, complaint_id, officer_id, i, subject, body, priority)
                for i in range(len(officer.channels))
            ]
        if intents and enqueue(session, intents, now=now) == 0:
            return None
        return told

    # -- the messages -------------------------------------------------------------------------------------
    def _case_line(self, case: HeldCase) -> str:
        where = case.place or "place not given"
        if case.station_id:
            where += f" ({self._people.unit_name(case.station_id)})"
        flags = "EMERGENCY · " if case.is_emergency else "VIP · " if case.is_vip else ""
        return f"{flags}{case.docket} · {case.category.replace('_', ' ')} · {where}"

    def _holder(self, case: HeldCase) -> str:
        officer = self._people.officers.get(case.officer_id) if case.officer_id else None
        name = f"{officer.rank} {officer.name}" if officer is not None else (case.officer_id or "nobody")
        unit = self._people.unit_name(case.unit_id) if case.unit_id else "no unit"
        return f"{name} ({unit})"

    def _link(self, docket: str) -> str:
        return f"{self._settings.dashboard_base_url.rstrip('/')}/cases/{docket}"

    def _local(self, at: datetime) -> str:
        return at.astimezone(self._people.tz).strftime("%a %d %b %H:%M")

    def _reminder_message(self, reminder: Reminder, now: datetime) -> tuple[str, str]:
        case, (verb, _) = reminder.case, _VERB[reminder.deadline]
        subject = f"Reminder: {case.docket}, {verb} it by {self._local(reminder.deadline_at)}"
        body = "\n".join(
            [
                self._case_line(case),
                f"You hold this case. Please {verb} it by {self._local(reminder.deadline_at)}"
                f" (in {describe(reminder.deadline_at - now)}); after that it goes up the chain of command.",
                f"Open the case: {self._link(case.docket)}",
            ]
        )
        return subject, body

    def _step_message(self, step: Step, now: datetime) -> tuple[str, str]:
        case, (_, done) = step.case, _VERB[step.deadline]
        late = describe(now - step.deadline_at)
        subject = f"Escalation: {case.docket} not {done}, {late} late"
        if step.is_to_desk:
            whom = f"Nobody above {self._holder(case)} can take it, so it comes to the desk."
        else:
            whom = f"It comes to you as head of {self._people.unit_name(step.unit_id)} (step {step.step})."
        body = "\n".join(
            [
                self._case_line(case),
                f"Held by {self._holder(case)} since {self._local(case.assigned_at)}.",
                f"It was to be {done} by {self._local(step.deadline_at)}: {late} late. {whom}",
                f"Open the case: {self._link(case.docket)}",
            ]
        )
        return subject, body

    def _digest_message(self, digest: OverdueDigest, now: datetime) -> tuple[str, str]:
        count = len(digest.cases)
        subject = f"Overdue cases on {now.astimezone(self._people.tz):%d %b %Y}: {count}"
        lines = [f"Cases overdue at {self._local(now)}: {count}." if count else "No case is overdue."]
        for item in sorted(digest.cases, key=lambda o: o.deadline_at)[:MAX_DIGEST_LINES]:
            lines.append(
                f"- {self._case_line(item.case)} · held by {self._holder(item.case)} · not {_VERB[item.deadline][1]},"
                f" {describe(item.late_by(now))} late · {self._link(item.case.docket)}"
            )
        if count > MAX_DIGEST_LINES:
            lines.append(f"... and {count - MAX_DIGEST_LINES} more on the dashboard.")
        return subject, "\n".join(lines)


def describe(span: timedelta) -> str:
    """``2 d 3 h``, ``3 h 10 min``, ``25 min``: how late, to the minute."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


# -- reading -------------------------------------------------------------------------------------------------
def _held_query() -> Select[Assignment, Complaint]:
    return (
        select(Assignment, Complaint)
        .join(Complaint, col(Complaint.id) == col(Assignment.complaint_id))
        .where(
            col(Assignment.role) == "assignee",
            col(Assignment.status) == OPEN,
            col(Complaint.status).in_([s.value for s in HELD]),
            sa.or_(col(Assignment.acknowledge_by).is_not(None), col(Assignment.act_by).is_not(None)),
        )
    )


def _claim_held(session: Session, *, after: int, limit: int, now: datetime) -> list[HeldCase]:
    """The next batch of open assignee assignments, locked for this transaction (others skip them)."""
    statement = (
        _held_query()
        .where(col(Assignment.id) > after, col(Assignment.assigned_at) <= now)
        .order_by(col(Assignment.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Assignment)
    )
    return [_held(a, c) for a, c in session.execute(statement).all()]


def _overdue_held(session: Session, now: datetime) -> list[HeldCase]:
    """Every open assignee assignment with a deadline passed (met or not: the planner tells)."""
    statement = (
        _held_query()
        .where(sa.or_(col(Assignment.acknowledge_by) <= now, col(Assignment.act_by) <= now))
        .order_by(col(Assignment.id))
    )
    return [_held(a, c) for a, c in session.execute(statement).all()]


def _held(a: Assignment, c: Complaint) -> HeldCase:
    assert a.id is not None
    return HeldCase(
        assignment_id=a.id,
        complaint_id=a.complaint_id,
        docket=a.docket,
        status=c.status,
        category=c.category,
        officer_id=a.officer_id,
        unit_id=a.unit_id,
        station_id=a.station_id or c.station_id,
        assigned_at=a.assigned_at,
        acknowledge_by=a.acknowledge_by,
        act_by=a.act_by,
        acknowledged_at=a.acknowledged_at,
        acted_at=a.acted_at,
        is_emergency=c.is_emergency,
        is_vip=c.is_vip,
        place=c.place_name,
    )


def _done(session: Session, cases: Sequence[HeldCase]) -> Done:
    ids = [c.assignment_id for c in cases]
    steps = session.execute(
        select(Escalation.assignment_id, Escalation.deadline, Escalation.step).where(
            col(Escalation.assignment_id).in_(ids)
        )
    ).all()
    events = session.execute(
        select(AuditEvent.detail).where(
            col(AuditEvent.kind) == "reminder.sent",
            col(AuditEvent.entity) == "complaint",
            col(AuditEvent.entity_id).in_(sorted({str(c.complaint_id) for c in cases})),
        )
    ).scalars()
    reminders = {(d.get("assignment"), d.get("deadline")) for d in events if isinstance(d, dict)}
    return Done(
        reminders=frozenset((a, str(k)) for a, k in reminders if isinstance(a, int)),
        steps=frozenset((a, d, s) for a, d, s in steps),
    )


def _digest_done(session: Session, first_day: date) -> bool:
    found = session.execute(
        select(AuditEvent.id)
        .where(col(AuditEvent.kind) == "overdue.digest", col(AuditEvent.entity_id) == first_day.isoformat())
        .limit(1)
    ).first()
    return found is not None
