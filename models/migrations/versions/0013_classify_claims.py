"""classify claims and the indexes of the per-post queries

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:45:00.000000

A classify run claims its batch of mentions (``claimed_by``, ``claim_expires_at``) in a short transaction and
classifies with none open; a claim that expires (its process died) is taken by another process.
``ix_mention_unclassified`` finds the unclassified posts without reading the classified ones; the two
complaint indexes let an incident's open cases be found by category and place (a point's box, or the
place's name as filing compares it) instead of by every post of the time window.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.types.UTCDateTime(timezone=True)
_STR = sqlmodel.sql.sqltypes.AutoString
_UNCLASSIFIED = sa.text("classified_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("mention") as batch:
        batch.add_column(sa.Column("claimed_by", _STR(length=128), nullable=True))
        batch.add_column(sa.Column("claim_expires_at", _UTC, nullable=True))
    op.create_index(
        "ix_mention_unclassified",
        "mention",
        ["created_at", "id"],
        postgresql_where=_UNCLASSIFIED,
        sqlite_where=_UNCLASSIFIED,
    )
    op.create_index("ix_complaint_category_place_point", "complaint", ["category", "place_lat", "place_lon"])
    # PostgreSQL spells trim() this way when it reflects the index; SQLite knows only trim()
    key = "lower(TRIM(BOTH FROM place_name))" if op.get_context().dialect.name == "postgresql" else "lower(trim(place_name))"
    op.create_index("ix_complaint_category_place_key", "complaint", ["category", sa.text(key)])


def downgrade() -> None:
    op.drop_index("ix_complaint_category_place_key", table_name="complaint")
    op.drop_index("ix_complaint_category_place_point", table_name="complaint")
    op.drop_index("ix_mention_unclassified", table_name="mention")
    with op.batch_alter_table("mention") as batch:
        batch.drop_column("claim_expires_at")
        batch.drop_column("claimed_by")
