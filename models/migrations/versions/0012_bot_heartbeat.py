"""bot heartbeats: the bot processes alive now, so each takes about its fair share of the account leases

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:35:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.types.UTCDateTime(timezone=True)
_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "bot_heartbeat",
        sa.Column("holder", _STR(length=128), nullable=False),
        sa.Column("started_at", _UTC, nullable=False),
        sa.Column("seen_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("holder"),
    )


def downgrade() -> None:
    op.drop_table("bot_heartbeat")
