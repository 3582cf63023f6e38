"""What the deadlines call for now: reminders, escalation steps and the commissioner's overdue digest. Pure.

Each deadline of an open case (to acknowledge, to act) is watched on its own:

- **a reminder** to the assignee before it: at ``reminder_lead_min`` before the deadline, or when
  ``reminder_at_fraction`` of the window has passed. Only while the assignee is on duty: a rostered officer
  who is off duty then gets it when their next shift starts (the first cycle that finds them on duty) if that
  is still before the deadline, else not at all; an officer without shifts (a head, an office) at any hour.
- **escalation steps** once it has passed unmet: step 1 at the deadline goes to the head of the first unit
  above the holder's (station → ACP → DCP → commissioner), step 2 one window later to the next unit up, and
  so on to the top of the chain. A unit without an active head passes its step to the next unit up; with
  nobody above at all, the desk's officers are told. A step is never planned once the deadline is met or the
  assignment has ended (the case was reassigned, closed, ...): its snapshot is no longer open. A step that
  fell due before the holder got the case (a reassignment keeps the citizen's clock) was someone else's
  breach and is not theirs; the breach belongs to whoever held the case when it fell due.
- **the overdue digest**: once per period of ``digest_every_days`` (from ``digest_anchor``, at ``digest_at``
  local time), the head of the top of each chain gets every case overdue now.

The planner sees what was done already (:class:`Done`) and never plans it again: the same inputs at a later
``now`` plan only what is new. Times are aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from models.deadlines import DeadlinePolicy
from models.lifecycle import HELD, Status
from monitor.followup.people import People

Deadline = Literal["acknowledge", "action"]
DEADLINES: tuple[Deadline, ...] = ("acknowledge", "action")
_TO_ACKNOWLEDGE = frozenset({Status.ASSIGNED, Status.REOPEN_REQUESTED})


@dataclass(frozen=True)
class HeldCase:
    """An open assignee assignment and its case, as the planner needs them."""

    assignment_id: int
    complaint_id: int
    docket: str
    status: str  # the case's (models.lifecycle.Status)
    category: str
    officer_id: str | None
    unit_id: str | None  # the holder's unit when assigned
    station_id: str | None
    assigned_at: datetime
    acknowledge_by: datetime | None
    act_by: datetime | None
    acknowledged_at: datetime | None = None
    acted_at: datetime | None = None
    is_emergency: bool = False
    is_vip: bool = False
    place: str | None = None

    def deadline_at(self, deadline: Deadline) -> datetime | None:
        return self.acknowledge_by if deadline == "acknowledge" else self.act_by

    def is_met(self, deadline: Deadline) -> bool:
        """Whether the deadline no longer runs: done by this holder, or the case is past needing it."""
        if self.status not in HELD or self.acted_at is not None:
            return True
        if deadline == "action":
            return False
        return self.acknowledged_at is not None or self.status not in _TO_ACKNOWLEDGE


@dataclass(frozen=True)
class Done:
    """What earlier cycles did: reminders ``(assignment, deadline)``, steps ``(assignment, deadline, step)``
    and the digest periods (their first day)."""

    reminders: frozenset[tuple[int, str]] = frozenset()
    steps: frozenset[tuple[int, str, int]] = frozenset()
    digests: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Cadence:
    reminder_at_fraction: float = 0.75  # of the window, when no lead is set (or the lead is longer)
    reminder_lead_min: int | None = None  # before the deadline
    digest_every_days: int = 14
    digest_at: time = time(9, 0)  # local time
    digest_anchor: date = date(2026, 1, 5)  # a Monday: periods start then and every digest_every_days after


@dataclass(frozen=True)
class Reminder:
    case: HeldCase
    deadline: Deadline
    deadline_at: datetime
    officer_id: str


@dataclass(frozen=True)
class Step:
    case: HeldCase
    deadline: Deadline
    step: int
    due_at: datetime  # when the step fell due
    deadline_at: datetime
    holder_id: str | None
    unit_id: str  # the unit the step reached (the desk's when nobody above has an active head)
    to: tuple[str, ...]  # the head of that unit, or the desk's officers
    is_to_desk: bool = False

    @property
    def escalated_to(self) -> str | None:
        return None if self.is_to_desk or not self.to else self.to[0]


@dataclass(frozen=True)
class Overdue:
    case: HeldCase
    deadline: Deadline  # the most overdue one: the action's once it passed
    deadline_at: datetime

    def late_by(self, now: datetime) -> timedelta:
        return now - self.deadline_at


@dataclass(frozen=True)
class OverdueDigest:
    period_start: date
    unit_id: str  # the top of the chain
    officer_id: str  # its head: the commissioner
    cases: tuple[Overdue, ...]  # most late first


@dataclass(frozen=True)
class Plan:
    reminders: tuple[Reminder, ...] = ()
    steps: tuple[Step, ...] = ()
    digests: tuple[OverdueDigest, ...] = ()


def plan(
    cases: Sequence[HeldCase], done: Done, people: People, policy: DeadlinePolicy, cadence: Cadence, now: datetime
) -> Plan:
    """Everything due at ``now``: reminders, steps and, when a period has begun, the overdue digest."""
    return Plan(
        plan_reminders(cases, done, people, cadence, now),
        plan_steps(cases, done, people, policy, now),
        plan_digests(cases, done, people, cadence, now),
    )


def reminder_at(case: HeldCase, deadline: Deadline, cadence: Cadence) -> datetime | None:
    """When the reminder of this deadline is due, at the earliest; None when the window is empty."""
    deadline_at = case.deadline_at(deadline)
    if deadline_at is None or deadline_at <= case.assigned_at:
        return None
    window = deadline_at - case.assigned_at
    lead = timedelta(minutes=cadence.reminder_lead_min) if cadence.reminder_lead_min else None
    if lead is not None and lead < window:
        return deadline_at - lead
    return case.assigned_at + window * cadence.reminder_at_fraction


def plan_reminders(
    cases: Iterable[HeldCase], done: Done, people: People, cadence: Cadence, now: datetime
) -> tuple[Reminder, ...]:
    found = []
    for case in cases:
        officer = people.officers.get(case.officer_id) if case.officer_id else None
        if officer is None or not officer.is_active:
            continue
        for deadline in DEADLINES:
            at, deadline_at = reminder_at(case, deadline, cadence), case.deadline_at(deadline)
            if at is None or deadline_at is None or not at <= now < deadline_at or case.is_met(deadline):
                continue
            if (case.assignment_id, deadline) in done.reminders or not is_reachable(people, officer.id, now):
                continue
            found.append(Reminder(case, deadline, deadline_at, officer.id))
    return tuple(found)


def is_reachable(people: People, officer_id: str, now: datetime) -> bool:
    """On duty now, or without shifts at all (reachable at any hour)."""
    if not people.is_rostered(officer_id):
        return True
    officer = people.officers[officer_id]
    return officer_id in people.on_duty(officer.unit_id, now)


def step_due_at(case: HeldCase, deadline: Deadline, step: int, policy: DeadlinePolicy) -> datetime | None:
    """When step ``step`` falls due: at the deadline, then one more of the case's window per step (in working
    days too, when the window is). From the stored deadline, so a deadline carried over by a reassignment
    keeps the citizen's clock."""
    deadline_at = case.deadline_at(deadline)
    if deadline_at is None:
        return None
    window = policy.window_for(case.category, is_emergency=case.is_emergency, is_vip=case.is_vip)
    return policy.due_at(deadline_at, window.acknowledge if deadline == "acknowledge" else window.act, step - 1)


def plan_steps(
    cases: Iterable[HeldCase], done: Done, people: People, policy: DeadlinePolicy, now: datetime
) -> tuple[Step, ...]:
    found = []
    for case in cases:
        chain = people.chain(case.unit_id) if case.unit_id else [people.desk_unit]
        last = max(1, len(chain) - 1)  # the top of the chain gets the last step
        for deadline in DEADLINES:
            deadline_at = case.deadline_at(deadline)
            if deadline_at is None or case.is_met(deadline):
                continue
            for step in range(1, last + 1):
                due = step_due_at(case, deadline, step, policy)
                if due is None or due > now:
                    break
                if due <= case.assigned_at or (case.assignment_id, deadline, step) in done.steps:
                    continue  # before this holder had it, or written already
                unit_id, to, is_desk = _target(people, chain, step, case.officer_id)
                found.append(Step(case, deadline, step, due, deadline_at, case.officer_id, unit_id, to, is_desk))
    return tuple(found)


def _target(
    people: People, chain: Sequence[str], step: int, holder_id: str | None
) -> tuple[str, tuple[str, ...], bool]:
    """The unit ``step`` units above the holder's, or the next one up with an active head; else the desk."""
    for unit_id in chain[step:]:
        head = people.head(unit_id)
        if head is not None and head.id != holder_id:
            return unit_id, (head.id,), False
    return people.desk_unit, tuple(o.id for o in people.desk_officers() if o.is_active), True


def digest_period(now: datetime, cadence: Cadence, tz: ZoneInfo) -> date:
    """The first day of the digest period holding ``now``; a period starts at ``digest_at`` local time."""
    every = timedelta(days=cadence.digest_every_days)
    anchor = datetime.combine(cadence.digest_anchor, cadence.digest_at, tzinfo=tz)
    return cadence.digest_anchor + every * ((now - anchor) // every)


def overdue(cases: Iterable[HeldCase], now: datetime) -> list[Overdue]:
    """The cases with a deadline passed unmet, most late first."""
    found = []
    for case in cases:
        for deadline in reversed(DEADLINES):  # the action's first: once it passed, that is the lateness
            deadline_at = case.deadline_at(deadline)
            if deadline_at is not None and deadline_at <= now and not case.is_met(deadline):
                found.append(Overdue(case, deadline, deadline_at))
                break
    return sorted(found, key=lambda o: (o.deadline_at, o.case.docket))


def plan_digests(
    cases: Iterable[HeldCase], done: Done, people: People, cadence: Cadence, now: datetime
) -> tuple[OverdueDigest, ...]:
    first_day = digest_period(now, cadence, people.tz)
    if first_day in done.digests:
        return ()
    by_top: dict[str, list[Overdue]] = {people.chain(people.desk_unit)[-1]: []}
    for item in overdue(cases, now):
        unit = item.case.unit_id or item.case.station_id or people.desk_unit
        by_top.setdefault(people.chain(unit)[-1], []).append(item)
    digests = []
    for top, items in by_top.items():
        head = people.head(top)
        if head is not None:
            digests.append(OverdueDigest(first_day, top, head.id, tuple(items)))
    return tuple(digests)
