"""follow-up tracker: replies, escalations, case lifecycle times

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# New columns are nullable or carry a constant default, added with plain ALTER TABLE (see 0004: batch mode
# would copy tables that others point at). Cases filed before the tracker read back as never acknowledged.
_UTC = models.types.UTCDateTime(timezone=True)
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", _STR(length=120), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=24), nullable=False),
        sa.Column("platform", _STR(length=16), nullable=False),
        sa.Column("in_reply_to", _STR(length=64), nullable=False),
        sa.Column("language", _STR(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("marker", _STR(length=48), nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=False),
        sa.Column("claimed_at", _UTC, nullable=True),
        sa.Column("posted_at", _UTC, nullable=True),
        sa.Column("external_id", _STR(length=64), nullable=True),
        sa.Column("last_error", _STR(length=500), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["mention_id"], ["mention.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index("ix_reply_status_due", "reply", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_reply_complaint_id"), "reply", ["complaint_id"])
    op.create_index(op.f("ix_reply_mention_id"), "reply", ["mention_id"])
    op.create_index(op.f("ix_reply_account_id"), "reply", ["account_id"])
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("docket", _STR(length=32), nullable=False),
        sa.Column("holder_id", _STR(length=32), nullable=True),
        sa.Column("deadline", _STR(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("escalated_to", _STR(length=32), nullable=True),
        sa.Column("unit_id", _STR(length=64), nullable=True),
        sa.Column("due_at", _UTC, nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"]),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id", "deadline", "step"),
    )
    op.create_index(op.f("ix_escalation_complaint_id"), "escalation", ["complaint_id"])
    op.create_index(op.f("ix_escalation_assignment_id"), "escalation", ["assignment_id"])
    op.create_index(op.f("ix_escalation_at"), "escalation", ["at"])
    op.add_column("complaint", sa.Column("acknowledged_at", _UTC, nullable=True))
    op.add_column("complaint", sa.Column("action_taken_at", _UTC, nullable=True))
    op.add_column("complaint", sa.Column("action_note", sa.Text(), nullable=True))
    op.add_column("complaint", sa.Column("closed_at", _UTC, nullable=True))
    op.add_column("complaint", sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("complaint", sa.Column("merged_into_id", sa.Integer(), nullable=True))
    op.add_column("complaint", sa.Column("rejected_reason", _STR(length=300), nullable=True))
    op.add_column("assignment", sa.Column("acknowledged_at", _UTC, nullable=True))
    op.add_column("assignment", sa.Column("acted_at", _UTC, nullable=True))
    op.add_column("mention", sa.Column("post_category", _STR(length=32), nullable=True))
    op.add_column("mention", sa.Column("joined_as", _STR(length=16), nullable=True))
    op.add_column("mention", sa.Column("handled_at", _UTC, nullable=True))
    # posts filed before the tracker existed are done with: upgrading never replies to old cases
    op.execute("UPDATE mention SET handled_at = classified_at WHERE classified_at IS NOT NULL")


def downgrade() -> None:
    for column in ("handled_at", "joined_as", "post_category"):
        op.drop_column("mention", column)
    for column in ("acted_at", "acknowledged_at"):
        op.drop_column("assignment", column)
    for column in (
        "rejected_reason", "merged_into_id", "reopen_count", "closed_at", "action_note", "action_taken_at",
        "acknowledged_at",
    ):
        op.drop_column("complaint", column)
    op.drop_table("escalation")
    op.drop_table("reply")
