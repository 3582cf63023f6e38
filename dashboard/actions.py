"""What the dashboard asks of the officer actions, and which of them a viewer may take on a case now.

The actions themselves live in the follow-up tracker (``monitor.followup.actions.CaseActions``), which the
dashboard may not import: the assembly hands an instance in, and this Protocol names what is called.
Each action raises :class:`~models.lifecycle.IllegalTransition` (its message is for a person) or a
``LookupError`` when no case has the docket; either way nothing was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session, select

from models.lifecycle import ActionKind, Actor, CaseState, IllegalTransition, allowed_actions
from models.tables import Complaint

BUTTONS = (ActionKind.ACKNOWLEDGE, ActionKind.ACT, ActionKind.REQUEST_REASSIGNMENT)  # what these pages offer


class CaseActionsLike(Protocol):
    def actor(self, session: Session, complaint: Complaint, officer_id: str) -> Actor:
        """How the officer stands to the case; IllegalTransition for an unknown or inactive officer."""
        ...

    def acknowledge(self, docket: str, *, officer_id: str, now: datetime) -> object: ...

    def act(self, docket: str, *, officer_id: str, note: str, now: datetime) -> object: ...

    def request_reassignment(self, docket: str, *, officer_id: str, reason: str, now: datetime) -> object: ...

    def preview_note(self, note: str) -> str:
        """The action-taken note as the citizen will read it (personal data masked)."""
        ...


def buttons_for(
    session: Session, actions: CaseActionsLike | None, docket: str, officer_id: str | None
) -> frozenset[ActionKind]:
    """The actions of :data:`BUTTONS` this officer may take on the case now; none without an officer,
    without the actions, or for an officer the organisation does not know (or no longer has)."""
    if actions is None or officer_id is None:
        return frozenset()
    complaint = session.exec(select(Complaint).where(Complaint.docket == docket)).first()
    if complaint is None:
        return frozenset()
    try:
        actor = actions.actor(session, complaint, officer_id)
    except IllegalTransition:
        return frozenset()
    state = CaseState(docket, complaint.status, complaint.closed_at)
    return frozenset(allowed_actions(state, actor)) & frozenset(BUTTONS)
