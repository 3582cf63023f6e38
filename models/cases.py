"""Reading cases back with the posts that made them, for the desk, scripts and the dashboard."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.followup import Reply
from models.routing import OPEN, Assignment, assignments_for, notifications_for
from models.tables import AuditEvent, Complaint, Mention


def list_cases(
    session: Session,
    *,
    status: str | None = None,
    station: str | None = None,
    dockets: Collection[str] | None = None,
    statuses: Collection[str] | None = None,
    not_statuses: Collection[str] | None = None,
    held_by: str | None = None,
) -> list[dict[str, Any]]:
    """Each case with its tags and its posts (platform, external id, author, text), oldest case first.

    The filters narrow the query itself (a page reads only the cases it can show): ``dockets``, ``statuses``
    and ``not_statuses``, and ``held_by`` (an officer with an open ``assignee`` assignment of the case)."""
    statement = select(Complaint).order_by(col(Complaint.created_at), col(Complaint.id))
    if status:
        statement = statement.where(Complaint.status == status)
    if station:
        statement = statement.where(Complaint.station_id == station)
    if dockets is not None:
        statement = statement.where(col(Complaint.docket).in_(sorted(dockets)))
    if statuses is not None:
        statement = statement.where(col(Complaint.status).in_(sorted(statuses)))
    if not_statuses is not None:
        statement = statement.where(col(Complaint.status).not_in(sorted(not_statuses)))
    if held_by is not None:
        held = select(Assignment.complaint_id).where(
            Assignment.officer_id == held_by, Assignment.role == "assignee", Assignment.status == OPEN
        )
        statement = statement.where(col(Complaint.id).in_(held))
    complaints = list(session.exec(statement).all())
    ids = [c.id for c in complaints]
    posts: dict[int, list[dict[str, Any]]] = {}
    if ids:
        rows = session.exec(
            select(Mention).where(col(Mention.complaint_id).in_(ids)).order_by(col(Mention.created_at))
        ).all()
        for m in rows:
            assert m.complaint_id is not None
            posts.setdefault(m.complaint_id, []).append(
                {
                    "platform": m.platform,
                    "external_id": m.external_id,
                    "author": m.author_handle or m.author_name or m.author_id,
                    "text": m.text,
                    "created_at": m.created_at.isoformat(),
                    "permalink": m.permalink,
                    "joined_as": m.joined_as,
                }
            )
    known = [i for i in ids if i is not None]
    assignments = assignments_for(session, known)
    notified = notifications_for(session, known)
    replies = replies_for(session, known)
    timelines = timelines_for(session, known)
    return [
        {
            "id": c.id,
            "docket": c.docket,
            "category": c.category,
            "confidence": c.confidence,
            "emergency": c.is_emergency,
            "vip": c.is_vip,
            "misconduct": c.is_misconduct,
            "place": c.place_name,
            "station": c.station_id,
            "status": c.status,
            "created_at": c.created_at.isoformat(),
            "acknowledged_at": _iso(c.acknowledged_at),
            "action_taken_at": _iso(c.action_taken_at),
            "action_note": c.action_note,
            "closed_at": _iso(c.closed_at),
            "reopen_count": c.reopen_count,
            "assignments": [
                {
                    "officer_id": a.officer_id,
                    "rank": a.rank,
                    "unit": a.unit_id,
                    "role": a.role,
                    "rule": a.rule,
                    "status": a.status,
                    "authority": a.authority,
                    "act_by": a.act_by.isoformat() if a.act_by else None,
                }
                for a in assignments.get(c.id or -1, [])
            ],
            "notifications": notified.get(c.id or -1, {}),
            "posts": posts.get(c.id or -1, []),
            "replies": replies.get(c.id or -1, []),
            "timeline": timelines.get(c.id or -1, []),
        }
        for c in complaints
    ]


def replies_for(session: Session, complaint_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each case's replies to citizens, oldest first: kind, platform, thread, the platform's id, status, text."""
    found: dict[int, list[dict[str, Any]]] = {}
    if complaint_ids:
        rows = session.exec(
            select(Reply).where(col(Reply.complaint_id).in_(complaint_ids)).order_by(col(Reply.id))
        ).all()
        for r in rows:
            found.setdefault(r.complaint_id, []).append(
                {
                    "kind": r.kind,
                    "platform": r.platform,
                    "in_reply_to": r.in_reply_to,
                    "external_id": r.external_id,
                    "status": r.status,
                    "language": r.language,
                    "text": r.text,
                    "is_private": r.is_private,
                    "posted_at": _iso(r.posted_at),
                    "last_error": r.last_error,
                }
            )
    return found


def timelines_for(session: Session, complaint_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each case's audit trail, oldest first: what happened, when, by whom, with its details."""
    found: dict[int, list[dict[str, Any]]] = {}
    if complaint_ids:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "complaint", col(AuditEvent.entity_id).in_([str(i) for i in complaint_ids]))
            .order_by(col(AuditEvent.at), col(AuditEvent.id))
        ).all()
        for e in rows:
            found.setdefault(int(e.entity_id), []).append(
                {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            )
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
