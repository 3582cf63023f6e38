"""Officer actions on a case: the one Python API behind ``run.py case ...``, the dashboard and signed links.

Each call locks the case, asks :func:`models.lifecycle.transition` whether the actor may do this now, and
writes in one transaction the new status, the assignment rows, the replies to the citizens (through the
reply outbox), the messages to officers (through the notification outbox) and the audit event naming who,
when, from which status and why. A refused action raises :class:`~models.lifecycle.IllegalTransition`
(or :class:`CaseNotFound`) and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.corrections import Correction, Relocate, first_post, record_correction
from models.db import session_scope
from models.deadlines import DeadlinePolicy
from models.lifecycle import (
    DEFAULT_REOPEN_WINDOW,
    Action,
    ActionKind,
    Actor,
    CaseState,
    IllegalTransition,
    Relation,
    Status,
    Transition,
    transition,
)
from models.routing import Assignment
from models.tables import AuditEvent, Complaint, Mention
from models.taxonomy import Category, layer_for
from monitor.followup.compose import ReplyComposer, reporters
from monitor.followup.notices import desk_ids, supervisor_of, tell
from monitor.followup.people import People


class CaseNotFound(LookupError):
    """No case has this docket."""


@dataclass(frozen=True)
class Outcome:
    transition: Transition
    replies: int = 0  # replies stored for the citizens
    told: tuple[str, ...] = ()  # officers sent a message


class CaseActions:
    def __init__(
        self,
        engine: Engine,
        people: People,
        composer: ReplyComposer,
        *,
        dashboard_base_url: str = "",
        reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
        deadlines: DeadlinePolicy | None = None,
        relocate: Relocate | None = None,
    ) -> None:
        """``relocate``: finds a place the desk names and its station for a category (without it, only the
        category can be corrected)."""
        self._engine = engine
        self._people = people
        self._composer = composer
        self._base_url = dashboard_base_url.rstrip("/")
        self.reopen_window = reopen_window
        self._deadlines = deadlines or DeadlinePolicy()
        self._relocate = relocate

    # -- what an officer sees before acting ---------------------------------------------------------
    def preview_note(self, note: str) -> str:
        """The action-taken note as the citizen will read it: personal data masked."""
        return self._composer.preview("action_taken", note.strip())

    def actor(self, session: Session, complaint: Complaint, officer_id: str) -> Actor:
        """How this officer stands to the case (holder, supervisor above its station, desk, commissioner)."""
        officer = self._people.officers.get(officer_id)
        if officer is None:
            raise IllegalTransition(f"{complaint.docket}: no officer {officer_id!r} in the people data")
        if not officer.is_active:
            raise IllegalTransition(f"{complaint.docket}: officer {officer_id} is not active")
        relations: set[Relation] = set()
        holder = _holder(session, complaint)
        if holder is not None and holder.officer_id == officer_id:
            relations.add(Relation.ASSIGNEE)
        if officer.unit_id == self._people.desk_unit:
            relations.add(Relation.DESK)
        if len(self._people.chain(officer.unit_id)) == 1:  # the top of the chain of command
            relations.add(Relation.COMMISSIONER)
        above = self._people.chain(complaint.station_id or self._people.desk_unit)[1:]
        if officer.unit_id in above and officer.unit_id != self._people.desk_unit:
            relations.add(Relation.SUPERVISOR)
        return Actor(officer_id, frozenset(relations))

    # -- the actions ------------------------------------------------------------------------------
    def acknowledge(self, docket: str, *, officer_id: str, now: datetime) -> Outcome:
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            moved = transition(_state(complaint), Action(ActionKind.ACKNOWLEDGE), actor, now)
            holder = _holder(session, complaint)
            assert holder is not None  # the lifecycle allows this only to the holder
            holder.acknowledged_at = holder.acknowledged_at or now
            complaint.acknowledged_at = complaint.acknowledged_at or now
            session.add(holder)
            return Outcome(self._write(session, complaint, moved))

    def act(self, docket: str, *, officer_id: str, note: str, now: datetime) -> Outcome:
        """Report the action taken: the note goes, masked, to every reporter of the case in their thread."""
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            moved = transition(_state(complaint), Action(ActionKind.ACT, note=note), actor, now)
            holder = _holder(session, complaint)
            assert holder is not None
            holder.acknowledged_at = holder.acknowledged_at or now
            holder.acted_at = now
            session.add(holder)
            complaint.acknowledged_at = complaint.acknowledged_at or now
            complaint.action_taken_at, complaint.action_note = now, note.strip()
            replies = self._composer.plan(
                session,
                complaint,
                "action_taken",
                reporters(session, _id(complaint)),
                now=now,
                round_no=complaint.reopen_count + 1,
                note=note.strip(),
            )
            return Outcome(self._write(session, complaint, moved, replies=replies), replies)

    def close(self, docket: str, *, officer_id: str, reason: str | None = None, now: datetime) -> Outcome:
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            moved = transition(_state(complaint), Action(ActionKind.CLOSE, reason=reason), actor, now)
            complaint.closed_at = now
            _end_open(session, _id(complaint), now, status="closed")
            return Outcome(self._write(session, complaint, moved))

    def reopen(self, docket: str, *, officer_id: str, reason: str | None = None, now: datetime) -> Outcome:
        """Reopen at the desk's or a supervisor's request; the citizen's own reopen is :meth:`citizen_reopen`."""
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            return self._reopen(session, complaint, actor, reason, now, reply_to=[])

    def citizen_reopen(self, session: Session, complaint: Complaint, mention: Mention, now: datetime) -> Outcome:
        """The citizen wrote again in the thread of a closed case (inside the caller's transaction)."""
        actor = Actor(f"citizen:{mention.platform}:{mention.author_id}", frozenset({Relation.CITIZEN}))
        return self._reopen(session, complaint, actor, "the citizen wrote again", now, reply_to=[mention])

    def reassign(
        self, docket: str, *, officer_id: str, to_officer: str, reason: str | None = None, now: datetime
    ) -> Outcome:
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            action = Action(ActionKind.REASSIGN, reason=reason, to_officer=to_officer)
            moved = transition(_state(complaint), action, actor, now)
            new = self._people.officers.get(to_officer)
            if new is None or not new.is_active:
                raise IllegalTransition(f"{docket}: {to_officer} is not an active officer")
            old = _holder(session, complaint)
            if old is not None and old.officer_id == to_officer:
                raise IllegalTransition(f"{docket}: {to_officer} already holds the case")
            ack_by, act_by = self._carried_deadlines(old, complaint, now)
            _end_open(session, _id(complaint), now, status="moved", roles=("assignee", "desk", "referral"))
            session.add(
                Assignment(
                    complaint_id=_id(complaint),
                    docket=docket,
                    officer_id=new.id,
                    rank=new.rank,
                    unit_id=new.unit_id,
                    station_id=complaint.station_id,
                    role="assignee",
                    rule=f"reassigned_by:{officer_id}"[:48],
                    assigned_at=now,
                    acknowledge_by=ack_by,
                    act_by=act_by,
                )
            )
            told = tell(
                session,
                self._people,
                [new.id],
                key=f"reassign:{_id(complaint)}:{now.isoformat()}",
                purpose="reassign",
                complaint_id=_id(complaint),
                subject=f"{docket}: reassigned to you",
                body=self._body(complaint, f"{docket} is now yours, reassigned by {officer_id}.", reason),
                now=now,
                is_urgent=complaint.is_emergency,
            )
            return Outcome(self._write(session, complaint, moved, to_officer=new.id), told=tuple(told))

    def request_reassignment(self, docket: str, *, officer_id: str, reason: str, now: datetime) -> Outcome:
        """The holder asks the desk and their supervisor to give the case to someone else."""
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            moved = transition(_state(complaint), Action(ActionKind.REQUEST_REASSIGNMENT, reason=reason), actor, now)
            officer = self._people.officers[officer_id]
            asked = [*desk_ids(self._people), supervisor_of(self._people, officer.unit_id) or ""]
            told = tell(
                session,
                self._people,
                [i for i in asked if i and i != officer_id],
                key=f"reassign_request:{_id(complaint)}:{now.isoformat()}",
                purpose="reassign_request",
                complaint_id=_id(complaint),
                subject=f"{docket}: {officer_id} asks for reassignment",
                body=self._body(complaint, f"{officer.rank} {officer.name} asks that {docket} go to someone else.", reason),
                now=now,
                is_urgent=complaint.is_emergency,
            )
            return Outcome(self._write(session, complaint, moved), told=tuple(told))

    def merge(self, docket: str, *, officer_id: str, into: str, now: datetime) -> Outcome:
        """This case joins ``into``: its posts move there (their reporters get that case's replies)."""
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            moved = transition(_state(complaint), Action(ActionKind.MERGE, into_docket=into), actor, now)
            target = _locked(session, into)
            if target.status in (Status.MERGED, Status.REJECTED):
                raise IllegalTransition(f"{docket}: {into} is {target.status}; merge into an open case")
            for mention in session.exec(select(Mention).where(Mention.complaint_id == complaint.id)).all():
                mention.complaint_id = target.id
                if mention.joined_as in (None, "first", "incident"):
                    mention.joined_as = "merged"
                session.add(mention)
            complaint.merged_into_id = target.id
            target.is_emergency = target.is_emergency or complaint.is_emergency
            target.is_vip = target.is_vip or complaint.is_vip
            target.updated_at = now
            session.add(target)
            _end_open(session, _id(complaint), now, status="closed")
            return Outcome(self._write(session, complaint, moved, into=into))

    def reject(self, docket: str, *, officer_id: str, reason: str, now: datetime) -> Outcome:
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            moved = transition(_state(complaint), Action(ActionKind.REJECT, reason=reason), actor, now)
            complaint.rejected_reason = reason.strip()[:300]
            _end_open(session, _id(complaint), now, status="closed")
            return Outcome(self._write(session, complaint, moved))

    def correct(
        self, docket: str, *, officer_id: str, category: str | None, place: str | None, now: datetime
    ) -> Outcome:
        """Put the category or the place right (or confirm an unsure case as it is): the case's open assignments
        end, it goes back to ``new`` with the desk's category (confidence 1) and the station of that category
        at the place, and routing places it again on its next cycle (same docket). The correction is kept as a
        labelled example for training. An unknown category or place, or nothing that changes, is refused."""
        with session_scope(self._engine) as session:
            complaint, actor = self._open(session, docket, officer_id)
            moved = transition(_state(complaint), Action(ActionKind.CORRECT), actor, now)
            named = " ".join((place or "").split()) or None
            if named is None and not (category or "").strip():
                raise IllegalTransition(f"{docket}: nothing to correct; choose the category or name the place")
            new_category = (category or "").strip() or complaint.category
            if new_category not in Category.__members__.values():
                raise IllegalTransition(f"{docket}: unknown category {new_category!r}")
            before = _where(complaint)
            if named is not None:
                placed = self._relocate(new_category, named) if self._relocate is not None else None
                if placed is None:
                    raise IllegalTransition(f"{docket}: unknown place {named!r}; name a locality, road or landmark")
                complaint.place_name, complaint.place_lat, complaint.place_lon = placed.name, placed.lat, placed.lon
                complaint.station_id = placed.station_id
            else:
                complaint.station_id = self._station_after(complaint, new_category)
            complaint.category = new_category
            complaint.confidence = 1.0  # a person decided: routing must not send it back to the desk as unsure
            complaint.is_misconduct = complaint.is_misconduct or new_category == Category.OFFICER_MISCONDUCT
            after = _where(complaint)
            if after == before:  # an unsure case confirmed as it is does change: its confidence becomes 1
                raise IllegalTransition(f"{docket}: that is what the case already says")
            old = _holder(session, complaint)
            _end_open(session, _id(complaint), now, status="moved")
            post = first_post(session, _id(complaint))
            record_correction(
                session,
                Correction(
                    complaint_id=_id(complaint),
                    docket=complaint.docket,
                    mention_id=post.id if post is not None else None,
                    platform=post.platform if post is not None else None,
                    external_id=post.external_id if post is not None else None,
                    text=post.text if post is not None else "",
                    old_category=str(before["category"]),
                    new_category=complaint.category,
                    old_place=before["place"],
                    new_place=complaint.place_name,
                    old_station=before["station"],
                    new_station=complaint.station_id,
                    is_emergency=complaint.is_emergency,
                    is_misconduct=complaint.is_misconduct,
                    officer_id=officer_id,
                    at=now,
                ),
            )
            told: list[str] = []
            if old is not None and old.officer_id and old.station_id != complaint.station_id:
                told = tell(
                    session,
                    self._people,
                    [old.officer_id],
                    key=f"correct:{_id(complaint)}:{now.isoformat()}",
                    purpose="correct",
                    complaint_id=_id(complaint),
                    subject=f"{docket}: moved away from you",
                    body=self._body(complaint, f"{docket} was corrected by {officer_id}; it is no longer yours.", None),
                    now=now,
                )
            return Outcome(self._write(session, complaint, moved, before=before, after=after), told=tuple(told))

    def _station_after(self, complaint: Complaint, category: str) -> str | None:
        """The station for a new category at the case's place: the same one while the layer is the same, else
        the place's station in the new layer (None: the desk places it)."""
        layer = layer_for(Category(category))
        if layer is None:
            return None
        if layer == layer_for(Category(complaint.category)):
            return complaint.station_id
        if complaint.place_name and self._relocate is not None:
            placed = self._relocate(category, complaint.place_name)
            return placed.station_id if placed is not None else None
        return None

    # -- the parts --------------------------------------------------------------------------------
    def _open(self, session: Session, docket: str, officer_id: str) -> tuple[Complaint, Actor]:
        complaint = _locked(session, docket)
        return complaint, self.actor(session, complaint, officer_id)

    def _reopen(
        self,
        session: Session,
        complaint: Complaint,
        actor: Actor,
        reason: str | None,
        now: datetime,
        *,
        reply_to: list[Mention],
    ) -> Outcome:
        action = Action(ActionKind.REOPEN, reason=reason, reopen_window=self.reopen_window)
        moved = transition(_state(complaint), action, actor, now)
        complaint.reopen_count += 1
        complaint.closed_at = None
        last = _last_assignee(session, _id(complaint))
        holder = self._people.officers.get(last.officer_id) if last is not None and last.officer_id else None
        _end_open(session, _id(complaint), now, status="moved", roles=("assignee",))
        told: list[str] = []
        if last is not None and holder is not None and holder.is_active:
            due = self._deadlines.deadlines_for(complaint.category, complaint.is_emergency, complaint.is_vip, now)
            session.add(
                Assignment(
                    complaint_id=_id(complaint),
                    docket=last.docket,
                    officer_id=holder.id,
                    rank=holder.rank,
                    unit_id=holder.unit_id,
                    station_id=last.station_id,
                    role="assignee",
                    rule="reopened",
                    assigned_at=now,
                    acknowledge_by=due.acknowledge_by,  # a reopened case's clock starts again, by the policy
                    act_by=due.act_by,
                )
            )
            supervisor = supervisor_of(self._people, holder.unit_id)
            told = tell(
                session,
                self._people,
                [holder.id, *([supervisor] if supervisor else [])],
                key=f"reopen:{_id(complaint)}:{complaint.reopen_count}",
                purpose="reopen",
                complaint_id=_id(complaint),
                subject=f"{complaint.docket}: reopened",
                body=self._body(complaint, f"{complaint.docket} was reopened ({reason or 'no reason given'}).", None),
                now=now,
                is_urgent=complaint.is_emergency,
            )
        else:  # nobody to give it back to: the desk places it again
            complaint_status = Status.DESK.value
            moved = Transition(moved.docket, moved.action, moved.from_status, complaint_status, moved.actor, now, reason)
            told = tell(
                session,
                self._people,
                desk_ids(self._people),
                key=f"reopen:{_id(complaint)}:{complaint.reopen_count}",
                purpose="reopen",
                complaint_id=_id(complaint),
                subject=f"{complaint.docket}: reopened, nobody holds it",
                body=self._body(complaint, f"{complaint.docket} was reopened and its last officer cannot take it.", None),
                now=now,
                is_urgent=complaint.is_emergency,
            )
        replies = 0
        if reply_to:
            replies = self._composer.plan(
                session, complaint, "reopened", reply_to, now=now, round_no=complaint.reopen_count
            )
        return Outcome(self._write(session, complaint, moved, replies=replies), replies, tuple(told))

    def _write(self, session: Session, complaint: Complaint, moved: Transition, **detail: Any) -> Transition:
        complaint.status, complaint.updated_at = moved.to_status, moved.at
        session.add(complaint)
        session.add(
            AuditEvent(
                kind=f"case.{moved.action.value}",
                entity="complaint",
                entity_id=str(complaint.id),
                actor=moved.actor[:64],
                at=moved.at,
                detail={
                    "docket": moved.docket,
                    "from": moved.from_status,
                    "to": moved.to_status,
                    "reason": moved.reason,
                    **detail,
                },
            )
        )
        return moved

    def _carried_deadlines(
        self, old: Assignment | None, complaint: Complaint, now: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """A reassignment keeps the case's deadlines (the citizen's clock does not restart); a case that had
        none (from the desk, a referral) gets the policy's from now."""
        if old is not None and (old.acknowledge_by or old.act_by):
            return (old.acknowledge_by if complaint.acknowledged_at is None else None), old.act_by
        due = self._deadlines.deadlines_for(complaint.category, complaint.is_emergency, complaint.is_vip, now)
        return due.acknowledge_by, due.act_by

    def _body(self, complaint: Complaint, line: str, reason: str | None) -> str:
        parts = [line, f"Category: {complaint.category.replace('_', ' ')}"]
        if complaint.place_name:
            parts.append(f"Place: {complaint.place_name}")
        if reason:
            parts.append(f"Reason: {reason}")
        if self._base_url:
            parts.append(f"Open the case: {self._base_url}/cases/{complaint.docket}")
        return "\n".join(parts)


def _where(complaint: Complaint) -> dict[str, Any]:
    """What a correction changes, for the audit trail."""
    return {
        "category": complaint.category,
        "confidence": complaint.confidence,
        "place": complaint.place_name,
        "station": complaint.station_id,
    }


def _id(complaint: Complaint) -> int:
    assert complaint.id is not None
    return complaint.id


def _state(complaint: Complaint) -> CaseState:
    return CaseState(complaint.docket or f"case {complaint.id}", complaint.status, complaint.closed_at)


def _locked(session: Session, docket: str) -> Complaint:
    complaint = session.exec(select(Complaint).where(Complaint.docket == docket).with_for_update()).first()
    if complaint is None:
        raise CaseNotFound(f"no case has docket {docket!r}")
    return complaint


def _holder(session: Session, complaint: Complaint) -> Assignment | None:
    """The case's open assignee row, if an officer holds it."""
    return session.exec(
        select(Assignment)
        .where(Assignment.complaint_id == complaint.id, Assignment.role == "assignee", Assignment.status == "open")
        .order_by(col(Assignment.id).desc())
    ).first()


def _last_assignee(session: Session, complaint_id: int) -> Assignment | None:
    return session.exec(
        select(Assignment)
        .where(Assignment.complaint_id == complaint_id, Assignment.role == "assignee")
        .order_by(col(Assignment.id).desc())
    ).first()


def _end_open(
    session: Session, complaint_id: int, now: datetime, *, status: str, roles: tuple[str, ...] | None = None
) -> None:
    statement = (
        sa.update(Assignment)
        .where(col(Assignment.complaint_id) == complaint_id, col(Assignment.status) == "open")
        .values(status=status, ended_at=now)
    )
    if roles is not None:
        statement = statement.where(col(Assignment.role).in_(roles))
    session.execute(statement)

