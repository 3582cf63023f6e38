"""The tables. Times are timezone-aware UTC; every table's rows are written only through ``models`` queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Account(SQLModel, table=True):
    """A force's account on a platform that the bot polls (an X handle, a Facebook page)."""

    __tablename__ = "account"
    __table_args__ = (sa.UniqueConstraint("platform", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    key: str = Field(max_length=64)  # X handle or Facebook page id
    external_user_id: str = Field(max_length=64)  # X user id or page id: whose posts are our own
    label: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PollCursor(SQLModel, table=True):
    """How far an account has been read, and its health. Moves only with the posts it covers."""

    __tablename__ = "poll_cursor"

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    cursor: str | None = Field(default=None, max_length=64)
    resume: str | None = Field(default=None, max_length=300)  # where a partly read range stopped
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_ok_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    is_auth_failed: bool = False
    rate_remaining: int | None = None
    rate_reset_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Complaint(SQLModel, table=True):
    """A case: one or more posts (a citizen's thread) tagged with a category, place and station."""

    __tablename__ = "complaint"
    __table_args__ = (
        # an incident's open cases by category and place (migration 0013): a point's box, or the place's name
        sa.Index("ix_complaint_category_place_point", "category", "place_lat", "place_lon"),
        # as PostgreSQL reflects it (the drift check compares the text; SQLite's migration writes trim())
        sa.Index("ix_complaint_category_place_key", "category", sa.text("lower(TRIM(BOTH FROM place_name))")),
    )

    id: int | None = Field(default=None, primary_key=True)
    docket: str | None = Field(default=None, max_length=32, unique=True)
    category: str = Field(max_length=32, index=True)
    confidence: float
    is_emergency: bool = False
    is_vip: bool = False
    is_misconduct: bool = False  # the police themselves are accused: routed past the accused station
    place_name: str | None = Field(default=None, max_length=200)
    place_lat: float | None = None
    place_lon: float | None = None
    station_id: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(default="new", max_length=24, index=True)  # see models.lifecycle
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    action_taken_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    action_note: str | None = Field(default=None, sa_type=sa.Text)  # as the officer wrote it (masked when posted)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopen_count: int = 0
    merged_into_id: int | None = None  # the case this one was merged into (no FK: SQLite cannot add one in place)
    rejected_reason: str | None = Field(default=None, max_length=300)


class Mention(SQLModel, table=True):
    """A platform post addressed to one of the force's accounts, stored exactly once."""

    __tablename__ = "mention"
    __table_args__ = (
        sa.UniqueConstraint("platform", "external_id"),
        # the posts waiting to be classified, oldest first, without reading the classified ones (0013)
        sa.Index(
            "ix_mention_unclassified",
            "created_at",
            "id",
            postgresql_where=sa.text("classified_at IS NULL"),
            sqlite_where=sa.text("classified_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    author_id: str | None = Field(default=None, max_length=64)
    author_handle: str | None = Field(default=None, max_length=100)
    author_name: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_type=sa.Text)
    lang: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    lat: float | None = None
    lon: float | None = None
    place_name: str | None = Field(default=None, max_length=200)
    in_reply_to_id: str | None = Field(default=None, max_length=64)
    conversation_id: str | None = Field(default=None, max_length=64, index=True)
    permalink: str | None = Field(default=None, max_length=500)
    referenced_authors: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    stored_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    classified_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    post_category: str | None = Field(default=None, max_length=32)  # this post's own category
    joined_as: str | None = Field(default=None, max_length=16)  # first / followup / incident / merged
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # follow-up tracker done with it
    claimed_by: str | None = Field(default=None, max_length=128)  # the classify run holding it (until expiry)
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """One thing that happened to an account, a post or a case; append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    kind: str = Field(max_length=48, index=True)
    entity: str = Field(max_length=24)
    entity_id: str = Field(max_length=64, index=True)
    actor: str = Field(default="bot", max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
