"""Signed links' single use: one row per link whose button was pressed, keyed by a hash of what the link says.

A link is good for one use. Its use is claimed with one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` on the
unique ``token_hash``, so two presses racing each other (two processes, a double tap) act once: the
second insert finds the row and is refused. The row then records how the action went.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from models.types import UTCDateTime


class SignedLinkUse(SQLModel, table=True):
    """A signed link whose button was pressed: for which case and officer, when, and what came of it."""

    __tablename__ = "signed_link_use"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex of the link's payload, never the link
    docket: str = Field(max_length=32, index=True)
    officer_id: str = Field(max_length=32)
    purpose: str = Field(max_length=24)
    used_at: datetime = Field(sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=300)  # "acknowledged", or why the action was refused


def claim_link_use(
    session: Session, *, token_hash: str, docket: str, officer_id: str, purpose: str, now: datetime
) -> bool:
    """Record the link's use; False when it was used already (by this press or any other)."""
    table = SignedLinkUse.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(token_hash=token_hash, docket=docket, officer_id=officer_id, purpose=purpose, used_at=now)
        .on_conflict_do_nothing(index_elements=["token_hash"])
        .returning(table.c.id)  # a row back only when this insert made it (psycopg reports rowcount -1)
    )
    return session.execute(statement).first() is not None


def find_link_use(session: Session, *, token_hash: str) -> SignedLinkUse | None:
    return session.exec(select(SignedLinkUse).where(SignedLinkUse.token_hash == token_hash)).first()


def record_link_outcome(session: Session, *, token_hash: str, outcome: str) -> None:
    table = SignedLinkUse.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.token_hash == token_hash).values(outcome=outcome[:300]))


def release_link_use(session: Session, *, token_hash: str) -> None:
    """Forget a claimed use whose action never ran (the database failed under it), so the link works again."""
    table = SignedLinkUse.__table__  # type: ignore[attr-defined]
    session.execute(sa.delete(table).where(table.c.token_hash == token_hash, table.c.outcome.is_(None)))
