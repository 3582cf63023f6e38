"""Tables of the follow-up tracker: the reply outbox (what goes back to the citizen) and escalations.

A reply row goes ``pending`` → ``sending`` → ``posted`` (with the platform's id), or ends ``failed`` or
``not_allowed`` with the reason; ``sending`` is committed before the platform is called and ``posted``
right after, so after a crash a row left ``sending`` is looked up in the thread by its ``marker`` before
anything is posted again. The ``idempotency_key`` names the intent (``ack:{mention}``,
``action:{mention}:{round}``): planning the same reply twice stores it once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.tables import utcnow
from models.types import UTCDateTime

REPLY_KINDS = ("acknowledgement", "emergency", "referral", "thanks", "action_taken", "reopened")
REPLY_STATUSES = ("pending", "sending", "posted", "failed", "not_allowed")


class Reply(SQLModel, table=True):
    """One reply to one citizen's post, posted once from the account the post was addressed to."""

    __tablename__ = "reply"
    __table_args__ = (sa.Index("ix_reply_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=120, unique=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    mention_id: int = Field(foreign_key="mention.id", index=True)  # the citizen's post answered
    account_id: int = Field(foreign_key="account.id", index=True)  # the account that replies
    kind: str = Field(max_length=24)  # one of REPLY_KINDS
    platform: str = Field(max_length=16)
    in_reply_to: str = Field(max_length=64)  # the platform id of the post answered
    language: str = Field(max_length=8)
    text: str = Field(sa_type=sa.Text)  # rendered and masked: exactly what the citizen will read
    marker: str = Field(max_length=48)  # unique to this reply inside its text: how a crash is reconciled
    is_private: bool = False  # a Facebook private reply (one per comment within 7 days), where configured
    priority: int = 0  # higher first: emergencies
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    external_id: str | None = Field(default=None, max_length=64)  # the platform's id of the reply
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Escalation(SQLModel, table=True):
    """One step up the chain of command after a deadline passed; the breach belongs to ``holder_id``,
    who held the case (the assignment) when it happened."""

    __tablename__ = "escalation"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "deadline", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    docket: str = Field(max_length=32)
    holder_id: str | None = Field(default=None, max_length=32)  # the officer who held the case
    deadline: str = Field(max_length=16)  # acknowledge / action
    step: int  # 1: the first unit above the holder's, 2: the next, ...
    escalated_to: str | None = Field(default=None, max_length=32)  # None: nobody above (the desk is told)
    unit_id: str | None = Field(default=None, max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime)  # when the step fell due
    at: datetime = Field(sa_type=UTCDateTime, index=True)  # when it was written
