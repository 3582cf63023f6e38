"""Reading cases back with the posts that made them, for the desk, scripts and the dashboard."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models.routing import assignments_for, notifications_for
from models.tables import Complaint, Mention


def list_cases(session: Session, *, status: str | None = None, station: str | None = None) -> list[dict[str, Any]]:
    """Each case with its tags and its posts (platform, external id, author, text), oldest case first."""
    statement = select(Complaint).order_by(col(Complaint.created_at), col(Complaint.id))
    if status:
        statement = statement.where(Complaint.status == status)
    if station:
        statement = statement.where(Complaint.station_id == station)
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
                }
            )
    assignments = assignments_for(session, [i for i in ids if i is not None])
    notified = notifications_for(session, [i for i in ids if i is not None])
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
        }
        for c in complaints
    ]
