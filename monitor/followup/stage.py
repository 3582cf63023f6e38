"""The follow-up stage of the loop: what each filed post means for its case once the case is routed.

A post the tracker has not handled yet (``Mention.handled_at`` empty) whose case has been routed is
claimed with ``FOR UPDATE SKIP LOCKED`` and, in one transaction with the mark that it was handled:

- the post that opened the case, or another reporter's post about the same incident: its first reply is
  stored in the reply outbox (an acknowledgement naming the docket and the office, the emergency reply,
  the referral, a thank-you; none for chatter);
- the citizen's next post in the thread of an open case: the officer holding it is told (the desk, when
  nobody holds it); of a case closed (or answered) less than the reopen window ago: the case is reopened,
  the last officer and their supervisor are told and the citizen gets an acknowledgement; a thank-you never
  reopens anything; of a case closed longer ago: it becomes a new case, classified by its own category.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.db import session_scope
from models.lifecycle import IllegalTransition, Status
from models.mentions import audit
from models.routing import Assignment
from models.tables import Complaint, Mention
from models.taxonomy import Category
from monitor.followup.actions import CaseActions
from monitor.followup.compose import ReplyComposer, initial_kind
from monitor.followup.notices import desk_ids, tell
from monitor.followup.people import People

logger = logging.getLogger(__name__)
OPEN_FOR_FOLLOWUP = (Status.ASSIGNED, Status.ACKNOWLEDGED, Status.REOPEN_REQUESTED, Status.DESK, Status.REFERRAL)
MAX_QUOTE_CHARS = 500


class FollowupStage:
    name = "followup"

    def __init__(
        self, people: People, composer: ReplyComposer, actions: CaseActions, *, batch_size: int = 200
    ) -> None:
        self._people = people
        self._composer = composer
        self._actions = actions
        self._batch_size = batch_size

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        """One batch (the loop runs the stage again at once while it finds work, checking for a stop between)."""
        counts = {"posts_handled": 0, "replies_planned": 0, "followups_told": 0, "reopened": 0, "split_off": 0}
        with session_scope(engine) as session:
            for mention, complaint in _claim(session, self._batch_size):
                if self._handle(session, mention, complaint, now, counts):
                    mention.handled_at = now
                    counts["posts_handled"] += 1
                session.add(mention)
        return counts

    def _handle(
        self, session: Session, mention: Mention, complaint: Complaint, now: datetime, counts: dict[str, int]
    ) -> bool:
        """Deal with the post; False when it became a new case and waits for that case to be routed."""
        if mention.joined_as == "followup":
            return self._followup(session, mention, complaint, now, counts)
        kind = initial_kind(complaint)
        if kind is None:
            return True
        counts["replies_planned"] += self._composer.plan(
            session,
            complaint,
            kind,
            [mention],
            now=now,
            office=self._office(session, complaint),
            authority=_authority(session, complaint),
        )
        return True

    def _followup(
        self, session: Session, mention: Mention, complaint: Complaint, now: datetime, counts: dict[str, int]
    ) -> bool:
        status = complaint.status
        if status in (Status.REJECTED, Status.MERGED):
            return True
        if status in (Status.CLOSED, Status.ACTION_TAKEN):
            if mention.post_category == Category.APPRECIATION:
                return True  # a thank-you never reopens
            try:
                outcome = self._actions.citizen_reopen(session, complaint, mention, now)
            except IllegalTransition:
                self._split_off(session, mention, complaint, now)
                counts["split_off"] += 1
                return False
            counts["reopened"] += 1
            counts["replies_planned"] += outcome.replies
            return True
        if status not in OPEN_FOR_FOLLOWUP:
            return True
        holder = session.exec(
            select(Assignment.officer_id).where(
                Assignment.complaint_id == complaint.id,
                Assignment.role == "assignee",
                Assignment.status == "open",
            )
        ).first()
        told = tell(
            session,
            self._people,
            [holder] if holder else desk_ids(self._people),
            key=f"followup:{mention.id}",
            purpose="followup",
            complaint_id=complaint.id,
            subject=f"{complaint.docket}: the citizen wrote again",
            body=f"{complaint.docket}: a new post in the case's thread:\n\n{mention.text[:MAX_QUOTE_CHARS]}",
            now=now,
            is_urgent=complaint.is_emergency,
        )
        counts["followups_told"] += 1 if told else 0
        return True

    def _split_off(self, session: Session, mention: Mention, old: Complaint, now: datetime) -> None:
        """A post in the thread of a case closed long ago is a new matter: a new case, routed on its own."""
        category = mention.post_category or Category.OTHER.value
        case = Complaint(category=category, confidence=old.confidence, created_at=now, updated_at=now)
        session.add(case)
        session.flush()
        mention.complaint_id, mention.joined_as = case.id, "first"
        audit(session, "complaint.split_off", "complaint", case.id, at=now, mention_id=mention.id, old=old.docket)

    def _office(self, session: Session, complaint: Complaint) -> str:
        """The station or office the case went to, in plain text (never the accused station)."""
        unit = session.exec(
            select(Assignment.unit_id)
            .where(Assignment.complaint_id == complaint.id, col(Assignment.role).in_(["assignee", "desk"]))
            .order_by(col(Assignment.id).desc())
        ).first()
        return self._people.unit_name(unit or self._people.desk_unit)


def _authority(session: Session, complaint: Complaint) -> str | None:
    return session.exec(
        select(Assignment.authority).where(Assignment.complaint_id == complaint.id, Assignment.role == "referral")
    ).first()


def _claim(session: Session, limit: int) -> list[tuple[Mention, Complaint]]:
    statement = (
        select(Mention, Complaint)
        .join(Complaint, col(Complaint.id) == col(Mention.complaint_id))
        .where(
            col(Mention.handled_at).is_(None),
            col(Mention.classified_at).is_not(None),
            Complaint.status != Status.NEW,
        )
        .order_by(col(Complaint.is_emergency).desc(), col(Mention.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Mention)
    )
    return [(m, c) for m, c in session.exec(statement).all()]
