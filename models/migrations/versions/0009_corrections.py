"""the desk's corrections, kept as labelled real examples

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.types.UTCDateTime(timezone=True)
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("docket", _STR(length=32), nullable=True),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("platform", _STR(length=16), nullable=True),
        sa.Column("external_id", _STR(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("old_category", _STR(length=32), nullable=False),
        sa.Column("new_category", _STR(length=32), nullable=False),
        sa.Column("old_place", _STR(length=200), nullable=True),
        sa.Column("new_place", _STR(length=200), nullable=True),
        sa.Column("old_station", _STR(length=64), nullable=True),
        sa.Column("new_station", _STR(length=64), nullable=True),
        sa.Column("is_emergency", sa.Boolean(), nullable=False),
        sa.Column("is_misconduct", sa.Boolean(), nullable=False),
        sa.Column("officer_id", _STR(length=32), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("source", _STR(length=16), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["mention_id"], ["mention.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_correction_complaint_id"), "correction", ["complaint_id"])
    op.create_index(op.f("ix_correction_at"), "correction", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_correction_at"), table_name="correction")
    op.drop_index(op.f("ix_correction_complaint_id"), table_name="correction")
    op.drop_table("correction")
