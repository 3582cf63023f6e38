"""dashboard accounts and server-side sessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.types.UTCDateTime(timezone=True)
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "dashboard_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", _STR(length=64), nullable=False),
        sa.Column("role", _STR(length=16), nullable=False),
        sa.Column("officer_id", _STR(length=32), nullable=True),
        sa.Column("unit_id", _STR(length=64), nullable=True),
        sa.Column("password_hash", _STR(length=255), nullable=False),
        sa.Column("is_disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", _UTC, nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("password_changed_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _STR(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("last_seen_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.Column("revoked_at", _UTC, nullable=True),
        sa.Column("revoked_reason", _STR(length=24), nullable=True),
        sa.Column("client_ip", _STR(length=64), nullable=True),
        sa.Column("user_agent", _STR(length=120), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["dashboard_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_dashboard_session_user_id"), "dashboard_session", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_session_user_id"), table_name="dashboard_session")
    op.drop_table("dashboard_session")
    op.drop_table("dashboard_user")
