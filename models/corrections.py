"""The desk's corrections: each one a labelled real post for training, kept with what it replaced.

A desk member who puts a case's category or place right (``CaseActions.correct``) writes one row here in
the same transaction: the case's first post as the citizen wrote it, the category and place before and
after, who and when. :func:`training_rows` gives them as the lines ``run.py corrections export`` writes to
``data/real/corrections.jsonl``, which ``run.py train`` reads (source ``desk-correction``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from models.tables import Mention, utcnow
from models.types import UTCDateTime

SOURCE = "desk-correction"


@dataclass(frozen=True)
class Placed:
    """A place the desk named, as the gazetteer knows it, with the station of the case's category there."""

    name: str
    lat: float
    lon: float
    station_id: str | None  # None where no station of that category's layer acts (a referral, thanks)


Relocate = Callable[[str, str | None], Placed | None]
"""(category, place name) → the place and its station for that category, or None when the place is unknown."""


class Correction(SQLModel, table=True):
    """One correction of a case by the desk; append-only."""

    __tablename__ = "correction"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    docket: str | None = Field(default=None, max_length=32)
    mention_id: int | None = Field(default=None, foreign_key="mention.id")  # the case's first post
    platform: str | None = Field(default=None, max_length=16)
    external_id: str | None = Field(default=None, max_length=64)
    text: str = Field(sa_type=sa.Text)  # the first post as the citizen wrote it
    old_category: str = Field(max_length=32)
    new_category: str = Field(max_length=32)
    old_place: str | None = Field(default=None, max_length=200)
    new_place: str | None = Field(default=None, max_length=200)
    old_station: str | None = Field(default=None, max_length=64)
    new_station: str | None = Field(default=None, max_length=64)
    is_emergency: bool = False  # the case's flags as the desk left them
    is_misconduct: bool = False
    officer_id: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    source: str = Field(default="desk", max_length=16)


def first_post(session: Session, complaint_id: int) -> Mention | None:
    return session.exec(
        select(Mention)
        .where(Mention.complaint_id == complaint_id)
        .order_by(col(Mention.created_at), col(Mention.id))
    ).first()


def record_correction(session: Session, correction: Correction) -> None:
    """Store it in the caller's transaction (the one that changes the case)."""
    session.add(correction)


def corrections_of(session: Session, complaint_id: int) -> list[Correction]:
    return list(
        session.exec(
            select(Correction).where(Correction.complaint_id == complaint_id).order_by(col(Correction.id))
        ).all()
    )


def example_id(platform: str | None, external_id: str | None, complaint_id: int) -> str:
    """The training example's id: the post's own platform id, the same whichever database it came from."""
    if platform and external_id:
        return f"desk-{platform}-{external_id}"
    return f"desk-case-{complaint_id}"


def training_rows(session: Session) -> list[dict[str, Any]]:
    """One line per corrected post: the latest correction's category and place (the desk's last word), what
    the bot had said before the first correction, ordered by id."""
    by_example: dict[str, list[Correction]] = {}
    for row in session.exec(select(Correction).order_by(col(Correction.at), col(Correction.id))).all():
        by_example.setdefault(example_id(row.platform, row.external_id, row.complaint_id), []).append(row)
    lines = []
    for key, rows in by_example.items():
        first, last = rows[0], rows[-1]
        lines.append(
            {
                "id": key,
                "source": SOURCE,
                "text": last.text,
                "category": last.new_category,
                "emergency": last.is_emergency,
                "misconduct": last.is_misconduct or last.new_category == "officer_misconduct",
                "place": last.new_place,
                "station": last.new_station,
                "was_category": first.old_category,
                "was_place": first.old_place,
                "docket": last.docket,
                "corrected_by": last.officer_id,
                "corrected_at": last.at.isoformat(),
            }
        )
    return sorted(lines, key=lambda line: line["id"])
