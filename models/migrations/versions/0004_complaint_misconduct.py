"""complaint misconduct flag

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ALTER TABLE, not batch mode: on SQLite batch mode would copy the complaint table and drop the old one,
# which SQLite refuses while posts and assignments point at it. SQLite (3.35 and later, the oldest the bot
# accepts) and PostgreSQL both add a NOT NULL column with a constant default and drop a plain column in place.
# The default is the literal '0' (false on both; an expression default would force the copy again): cases
# filed before the flag existed read back as not accusing the police.


def upgrade() -> None:
    op.add_column("complaint", sa.Column("is_misconduct", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("complaint", "is_misconduct")
