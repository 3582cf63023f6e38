"""The case lifecycle as a table: every action from every status by every kind of actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.lifecycle import (
    Action,
    ActionKind,
    Actor,
    CaseState,
    IllegalTransition,
    Relation,
    Status,
    allowed_actions,
    transition,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ASSIGNEE = Actor("BCP0100", frozenset({Relation.ASSIGNEE}))
STRANGER = Actor("BCP0200", frozenset())
DESK = Actor("BCP0002", frozenset({Relation.DESK}))
SUPERVISOR = Actor("BCP0004", frozenset({Relation.SUPERVISOR}))
CITIZEN = Actor("citizen:x:123", frozenset({Relation.CITIZEN}))
COMMISSIONER = Actor("BCP0001", frozenset({Relation.COMMISSIONER}))


def case(status: Status, closed_at: datetime | None = None) -> CaseState:
    return CaseState("BLR-2026-000001", status.value, closed_at)


@pytest.mark.parametrize(
    ("status", "action", "actor", "to"),
    [
        (Status.ASSIGNED, Action(ActionKind.ACKNOWLEDGE), ASSIGNEE, Status.ACKNOWLEDGED),
        (Status.REOPEN_REQUESTED, Action(ActionKind.ACKNOWLEDGE), ASSIGNEE, Status.ACKNOWLEDGED),
        (Status.ASSIGNED, Action(ActionKind.ACT, note="Vehicle towed"), ASSIGNEE, Status.ACTION_TAKEN),
        (Status.ACKNOWLEDGED, Action(ActionKind.ACT, note="Vehicle towed"), ASSIGNEE, Status.ACTION_TAKEN),
        (Status.ACTION_TAKEN, Action(ActionKind.CLOSE), ASSIGNEE, Status.CLOSED),
        (Status.DESK, Action(ActionKind.CLOSE, reason="no action needed"), DESK, Status.CLOSED),
        (Status.CLOSED, Action(ActionKind.REOPEN), SUPERVISOR, Status.REOPEN_REQUESTED),
        (Status.DESK, Action(ActionKind.REASSIGN, to_officer="BCP0100"), DESK, Status.ASSIGNED),
        (Status.ACKNOWLEDGED, Action(ActionKind.REASSIGN, to_officer="BCP0101"), SUPERVISOR, Status.ASSIGNED),
        (Status.ASSIGNED, Action(ActionKind.REQUEST_REASSIGNMENT), ASSIGNEE, Status.ASSIGNED),
        (Status.DESK, Action(ActionKind.MERGE, into_docket="BLR-2026-000002"), DESK, Status.MERGED),
        (Status.DESK, Action(ActionKind.REJECT, reason="spam"), DESK, Status.REJECTED),
        (Status.DESK, Action(ActionKind.CORRECT), DESK, Status.NEW),
        (Status.NEW, Action(ActionKind.CORRECT), DESK, Status.NEW),
        (Status.ASSIGNED, Action(ActionKind.CORRECT), DESK, Status.NEW),
        (Status.ACKNOWLEDGED, Action(ActionKind.CORRECT), SUPERVISOR, Status.NEW),
        (Status.REOPEN_REQUESTED, Action(ActionKind.CORRECT), COMMISSIONER, Status.NEW),
        (Status.REFERRAL, Action(ActionKind.CORRECT), DESK, Status.NEW),
    ],
)
def test_an_allowed_action_moves_the_case(status: Status, action: Action, actor: Actor, to: Status) -> None:
    moved = transition(case(status), action, actor, NOW)
    assert (moved.from_status, moved.to_status, moved.actor, moved.at) == (status.value, to.value, actor.id, NOW)


@pytest.mark.parametrize(
    ("status", "action", "actor", "says"),
    [
        (Status.ASSIGNED, Action(ActionKind.ACT, note="done"), STRANGER, "only the officer holding the case"),
        (Status.ASSIGNED, Action(ActionKind.ACT, note="done"), DESK, "only the officer holding the case"),
        (Status.ASSIGNED, Action(ActionKind.ACT, note="   "), ASSIGNEE, "needs a note"),
        (Status.ASSIGNED, Action(ActionKind.ACT, note="x" * 2001), ASSIGNEE, "at most 2000"),
        (Status.CLOSED, Action(ActionKind.ACKNOWLEDGE), ASSIGNEE, "is closed"),
        (Status.REFERRAL, Action(ActionKind.ACT, note="done"), ASSIGNEE, "is referral"),
        (Status.ASSIGNED, Action(ActionKind.CLOSE), ASSIGNEE, "report the action taken before closing"),
        (Status.DESK, Action(ActionKind.CLOSE), DESK, "needs a reason"),
        (Status.DESK, Action(ActionKind.REJECT), DESK, "needs a reason"),
        (Status.DESK, Action(ActionKind.REJECT, reason="spam"), ASSIGNEE, "reject is for"),
        (Status.DESK, Action(ActionKind.MERGE, into_docket="BLR-2026-000001"), DESK, "into itself"),
        (Status.MERGED, Action(ActionKind.REOPEN), DESK, "is merged"),
        (Status.REJECTED, Action(ActionKind.REASSIGN, to_officer="BCP0100"), DESK, "is rejected"),
        (Status.DESK, Action(ActionKind.REASSIGN), DESK, "needs the officer"),
        (Status.ASSIGNED, Action(ActionKind.REOPEN), CITIZEN, "cannot be reopened"),
        (Status.ASSIGNED, Action(ActionKind.CORRECT), ASSIGNEE, "correct is for: commissioner, desk, supervisor"),
        (Status.DESK, Action(ActionKind.CORRECT), CITIZEN, "correct is for"),
        (Status.DESK, Action(ActionKind.CORRECT), Actor.bot(), "correct is for"),
        (Status.CLOSED, Action(ActionKind.CORRECT), DESK, "is closed: it cannot be corrected now"),
        (Status.REJECTED, Action(ActionKind.CORRECT), DESK, "is rejected"),
        (Status.MERGED, Action(ActionKind.CORRECT), COMMISSIONER, "is merged"),
        (Status.ACTION_TAKEN, Action(ActionKind.CORRECT), DESK, "is action taken"),
    ],
)
def test_an_illegal_action_is_refused_saying_why(status: Status, action: Action, actor: Actor, says: str) -> None:
    with pytest.raises(IllegalTransition, match=says):
        transition(case(status), action, actor, NOW)


def test_the_citizen_reopens_only_within_the_window() -> None:
    recent = case(Status.CLOSED, closed_at=NOW - timedelta(days=13))
    assert transition(recent, Action(ActionKind.REOPEN), CITIZEN, NOW).to_status == "reopen_requested"
    old = case(Status.CLOSED, closed_at=NOW - timedelta(days=15))
    with pytest.raises(IllegalTransition, match="more than 14 days ago"):
        transition(old, Action(ActionKind.REOPEN), CITIZEN, NOW)
    # the desk may still reopen an old case
    assert transition(old, Action(ActionKind.REOPEN), DESK, NOW).to_status == "reopen_requested"


def test_the_buttons_follow_the_rules() -> None:
    assert allowed_actions(case(Status.ASSIGNED), ASSIGNEE) == [
        ActionKind.ACKNOWLEDGE,
        ActionKind.ACT,
        ActionKind.REQUEST_REASSIGNMENT,
    ]
    assert allowed_actions(case(Status.ASSIGNED), STRANGER) == []
    assert ActionKind.REJECT in allowed_actions(case(Status.DESK), DESK)


@pytest.mark.parametrize("status", list(Status))
def test_the_desk_corrects_every_open_case_and_no_finished_one(status: Status) -> None:
    """A correction sends the case back to routing; a case that is over (or whose action is reported) stays."""
    may = ActionKind.CORRECT in allowed_actions(case(status), DESK)
    assert may == (status not in {Status.CLOSED, Status.REJECTED, Status.MERGED, Status.ACTION_TAKEN})
    assert ActionKind.CORRECT not in allowed_actions(case(status), ASSIGNEE)
