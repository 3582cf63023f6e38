"""the leaderboard's overdue holdings from covering indexes, and a version on each day tally

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:05:00.000000

Overdue now reads every open holding past a deadline with its case's status, station and misconduct flag. On
1,000,000 complaints that is some 15,000 holdings spread over the whole assignment and complaint tables, and
fetching each from the table was most of the page's time on PostgreSQL (tens of thousands of pages read).
``ix_assignment_late_ack`` and ``_act`` hold the open holdings not yet acknowledged (acted on) with what the
count needs, ``ix_complaint_held`` the cases an officer holds with theirs: partial indexes, small, read alone.
``tally_day.version`` is a random number written with each tally (never reused after a reset): a dashboard
process keeps the days it has read and reads a day again only when its version changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOLDING = "status = 'open' AND role = 'assignee' AND officer_id IS NOT NULL"
LATE_ACK = f"{_HOLDING} AND acknowledged_at IS NULL"
LATE_ACT = f"{_HOLDING} AND acted_at IS NULL"
HELD = "status IN ('assigned', 'acknowledged', 'reopen_requested')"


def upgrade() -> None:
    with op.batch_alter_table("tally_day") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger(), nullable=True))
    columns = ["complaint_id", "officer_id", "station_id", "id"]
    for name, table, keys, where in (
        ("ix_assignment_late_ack", "assignment", ["acknowledge_by", *columns], LATE_ACK),
        ("ix_assignment_late_act", "assignment", ["act_by", *columns], LATE_ACT),
        ("ix_complaint_held", "complaint", ["id", "status", "station_id", "is_misconduct"], HELD),
    ):
        op.create_index(name, table, keys, postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    op.drop_index("ix_complaint_held", table_name="complaint")
    op.drop_index("ix_assignment_late_act", table_name="assignment")
    op.drop_index("ix_assignment_late_ack", table_name="assignment")
    with op.batch_alter_table("tally_day") as batch:
        batch.drop_column("version")
