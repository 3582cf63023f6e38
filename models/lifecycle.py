"""The case lifecycle: which action may move a case from which status, and who may take it. Pure.

```
new ──route──▶ assigned ──acknowledge──▶ acknowledged ──act──▶ action_taken ──close──▶ closed
      ╰──────▶ desk / referral / closed (by the rules)          ▲                       │
reopen_requested ◀──reopen (the citizen within N days, or the desk / a supervisor)───────╯
any open case ──reassign──▶ assigned · ──merge──▶ merged · ──reject──▶ rejected (spam, with a reason)
any open case or referral ──correct (category or place, by the desk)──▶ new: routing places it again
```

:func:`transition` takes the case, the action, the actor and ``now`` and returns the transition to write
on the audit trail, or raises :class:`IllegalTransition` saying why not: an officer acknowledges and acts
only on a case they hold; the desk, a supervisor above the case's station and the commissioner reassign,
merge, reject, correct, close and reopen; the citizen's next post reopens a case closed less than N days ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    ACTION_TAKEN = "action_taken"
    CLOSED = "closed"
    DESK = "desk"
    REFERRAL = "referral"
    REJECTED = "rejected"
    MERGED = "merged"
    REOPEN_REQUESTED = "reopen_requested"


class ActionKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ACT = "act"
    CLOSE = "close"
    REOPEN = "reopen"
    REASSIGN = "reassign"
    REQUEST_REASSIGNMENT = "request_reassignment"
    MERGE = "merge"
    REJECT = "reject"
    CORRECT = "correct"  # the desk puts the category or the place right; the case is routed again


class Relation(StrEnum):
    """How the actor stands to this case; an actor may stand in several ways."""

    ASSIGNEE = "assignee"  # holds the case's open assignment
    SUPERVISOR = "supervisor"  # heads a unit above the case's station (or above the desk)
    DESK = "desk"  # an officer of the social-media desk
    COMMISSIONER = "commissioner"
    CITIZEN = "citizen"  # the reporter, through their next post
    BOT = "bot"


OPEN = frozenset({Status.NEW, Status.ASSIGNED, Status.ACKNOWLEDGED, Status.DESK, Status.REOPEN_REQUESTED})
HELD = frozenset({Status.ASSIGNED, Status.ACKNOWLEDGED, Status.REOPEN_REQUESTED})  # an officer holds it
FINISHED = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED})
MANAGERS = frozenset({Relation.SUPERVISOR, Relation.DESK, Relation.COMMISSIONER})
MAX_NOTE_CHARS = 2000
DEFAULT_REOPEN_WINDOW = timedelta(days=14)

_FROM: dict[ActionKind, frozenset[Status]] = {
    ActionKind.ACKNOWLEDGE: frozenset({Status.ASSIGNED, Status.REOPEN_REQUESTED}),
    ActionKind.ACT: HELD,
    ActionKind.CLOSE: frozenset(
        {Status.ACTION_TAKEN, Status.ASSIGNED, Status.ACKNOWLEDGED, Status.DESK, Status.REFERRAL, Status.REOPEN_REQUESTED}
    ),
    ActionKind.REOPEN: frozenset({Status.CLOSED, Status.ACTION_TAKEN}),
    ActionKind.REASSIGN: frozenset({Status.NEW, *HELD, Status.DESK, Status.REFERRAL}),
    ActionKind.REQUEST_REASSIGNMENT: HELD,
    ActionKind.MERGE: frozenset({*OPEN, Status.REFERRAL, Status.ACTION_TAKEN}),
    ActionKind.REJECT: frozenset({*OPEN, Status.REFERRAL}),
    ActionKind.CORRECT: frozenset({*OPEN, Status.REFERRAL}),
}
_TO: dict[ActionKind, Status | None] = {  # None: the status does not change
    ActionKind.ACKNOWLEDGE: Status.ACKNOWLEDGED,
    ActionKind.ACT: Status.ACTION_TAKEN,
    ActionKind.CLOSE: Status.CLOSED,
    ActionKind.REOPEN: Status.REOPEN_REQUESTED,
    ActionKind.REASSIGN: Status.ASSIGNED,
    ActionKind.REQUEST_REASSIGNMENT: None,
    ActionKind.MERGE: Status.MERGED,
    ActionKind.REJECT: Status.REJECTED,
    ActionKind.CORRECT: Status.NEW,
}
_WHO: dict[ActionKind, frozenset[Relation]] = {
    ActionKind.ACKNOWLEDGE: frozenset({Relation.ASSIGNEE}),
    ActionKind.ACT: frozenset({Relation.ASSIGNEE}),
    ActionKind.CLOSE: MANAGERS | {Relation.ASSIGNEE, Relation.BOT},
    ActionKind.REOPEN: MANAGERS | {Relation.CITIZEN},
    ActionKind.REASSIGN: MANAGERS,
    ActionKind.REQUEST_REASSIGNMENT: frozenset({Relation.ASSIGNEE}),
    ActionKind.MERGE: MANAGERS,
    ActionKind.REJECT: MANAGERS,
    ActionKind.CORRECT: MANAGERS,
}


class IllegalTransition(ValueError):
    """The action is not allowed on this case now, by this actor; the message says why, for a person."""


@dataclass(frozen=True)
class CaseState:
    docket: str
    status: str
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Actor:
    id: str  # an officer id, "citizen:{author}" or "bot"
    relations: frozenset[Relation]

    @classmethod
    def bot(cls) -> Actor:
        return cls("bot", frozenset({Relation.BOT}))


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    note: str | None = None  # act: what the citizen will read (masked when posted)
    reason: str | None = None  # reject: required; close, reopen, reassign: why, for the audit trail
    into_docket: str | None = None  # merge: the case this one joins
    to_officer: str | None = None  # reassign: the new holder
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW  # a citizen reopens only a case closed this recently


@dataclass(frozen=True)
class Transition:
    docket: str
    action: ActionKind
    from_status: str
    to_status: str
    actor: str
    at: datetime
    reason: str | None = None


def transition(case: CaseState, action: Action, actor: Actor, now: datetime) -> Transition:
    """The transition ``action`` by ``actor`` makes on ``case`` at ``now``; IllegalTransition if none."""
    kind = action.kind
    if not actor.relations & _WHO[kind]:
        raise IllegalTransition(f"{case.docket}: {_who_may(kind)}; {actor.id} {_stands(actor)}")
    if case.status not in _FROM[kind]:
        raise IllegalTransition(f"{case.docket} is {_label(case.status)}: it cannot be {_done(kind)} now")
    reason = (action.reason or "").strip() or None
    if kind is ActionKind.ACT:
        note = (action.note or "").strip()
        if not note:
            raise IllegalTransition(f"{case.docket}: the action taken needs a note (the citizen will read it)")
        if len(note) > MAX_NOTE_CHARS:
            raise IllegalTransition(f"{case.docket}: the note has {len(note)} characters, at most {MAX_NOTE_CHARS}")
    if kind is ActionKind.REJECT and reason is None:
        raise IllegalTransition(f"{case.docket}: rejecting a case needs a reason (for example: spam)")
    if kind is ActionKind.MERGE:
        if not action.into_docket:
            raise IllegalTransition(f"{case.docket}: a merge needs the docket of the case it joins")
        if action.into_docket == case.docket:
            raise IllegalTransition(f"{case.docket}: a case cannot be merged into itself")
    if kind is ActionKind.REASSIGN and not action.to_officer:
        raise IllegalTransition(f"{case.docket}: a reassignment needs the officer who takes the case")
    if kind is ActionKind.CLOSE and case.status != Status.ACTION_TAKEN:
        if not actor.relations & MANAGERS:
            raise IllegalTransition(f"{case.docket}: report the action taken before closing it")
        if reason is None:
            raise IllegalTransition(f"{case.docket}: closing a case with no action reported needs a reason")
    if kind is ActionKind.REOPEN and actor.relations == {Relation.CITIZEN}:
        if case.status == Status.CLOSED and (case.closed_at is None or now - case.closed_at > action.reopen_window):
            days = action.reopen_window.days
            raise IllegalTransition(f"{case.docket} was closed more than {days} days ago: the citizen's post is new")
    to = _TO[kind]
    return Transition(case.docket, kind, case.status, to.value if to else case.status, actor.id, now, reason)


def allowed_actions(case: CaseState, actor: Actor) -> list[ActionKind]:
    """The actions this actor may take on this case now (the buttons a page shows)."""
    allowed = [k for k in ActionKind if case.status in _FROM[k] and actor.relations & _WHO[k]]
    if case.status != Status.ACTION_TAKEN and not actor.relations & MANAGERS:
        allowed = [k for k in allowed if k is not ActionKind.CLOSE]  # only a manager closes with no action
    return allowed


def _label(status: str) -> str:
    return status.replace("_", " ")


def _done(kind: ActionKind) -> str:
    return {
        ActionKind.ACKNOWLEDGE: "acknowledged",
        ActionKind.ACT: "given an action-taken report",
        ActionKind.CLOSE: "closed",
        ActionKind.REOPEN: "reopened",
        ActionKind.REASSIGN: "reassigned",
        ActionKind.REQUEST_REASSIGNMENT: "handed back for reassignment",
        ActionKind.MERGE: "merged",
        ActionKind.REJECT: "rejected",
        ActionKind.CORRECT: "corrected",
    }[kind]


def _who_may(kind: ActionKind) -> str:
    if _WHO[kind] == {Relation.ASSIGNEE}:
        return f"only the officer holding the case may {kind.value.replace('_', ' ')} it"
    names = sorted(r.value for r in _WHO[kind] if r is not Relation.BOT)
    return f"{kind.value.replace('_', ' ')} is for: {', '.join(names)}"


def _stands(actor: Actor) -> str:
    if not actor.relations:
        return "has no part in this case"
    return "is " + ", ".join(sorted(r.value for r in actor.relations))
