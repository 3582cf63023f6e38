"""signed links' single use

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.types.UTCDateTime(timezone=True)
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "signed_link_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _STR(length=64), nullable=False),
        sa.Column("docket", _STR(length=32), nullable=False),
        sa.Column("officer_id", _STR(length=32), nullable=False),
        sa.Column("purpose", _STR(length=24), nullable=False),
        sa.Column("used_at", _UTC, nullable=False),
        sa.Column("outcome", _STR(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_signed_link_use_docket"), "signed_link_use", ["docket"])


def downgrade() -> None:
    op.drop_index(op.f("ix_signed_link_use_docket"), table_name="signed_link_use")
    op.drop_table("signed_link_use")
