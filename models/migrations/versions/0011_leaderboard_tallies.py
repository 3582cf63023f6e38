"""the leaderboard's day tallies, the cases touched since, and what the tallies were made under

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:40:00.000000

``tally_day`` holds, per local day and group kind, the contributions of the cases whose group's first
holding started that day (see ``dashboard.leaderboard_tally``). ``tally_touch`` gets a row, written by the
database itself in the writer's own transaction, whenever a leaderboard input of a case changes: an
assignment, an escalation step, an action-taken reply, a post joined to the case, the case's own status,
station, note or close time, or a reopening on the audit trail. Triggers rather than the writers' code: every
writer is covered, the ORM's, the bulk ``UPDATE``s and any future one. ``ix_assignment_assigned_at`` lets a
day's cases be found without reading every assignment; ``ix_assignment_open_ack`` and ``_act`` the holdings
overdue now.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.types.UTCDateTime(timezone=True)
_STR = sqlmodel.sql.sqltypes.AutoString

_CASE_COLUMNS = ("status", "station_id", "is_misconduct", "closed_at", "action_note", "created_at", "docket")
_REPLY_COLUMNS = ("status", "kind", "complaint_id", "created_at")  # not its attempts, text or next try
_MENTION_COLUMNS = ("complaint_id", "created_at")  # the first post's time; not its classification


def _changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


# (table, event, the complaint id, the holding's start or NULL, a condition or "")
_TOUCHES = (
    ("assignment", "INSERT", "NEW.complaint_id", "NEW.assigned_at", ""),
    ("assignment", "UPDATE", "OLD.complaint_id", "OLD.assigned_at", ""),
    ("assignment", "DELETE", "OLD.complaint_id", "OLD.assigned_at", ""),
    ("escalation", "INSERT", "NEW.complaint_id", "NULL", ""),
    ("escalation", "UPDATE", "OLD.complaint_id", "NULL", ""),
    ("escalation", "DELETE", "OLD.complaint_id", "NULL", ""),
    ("reply", "INSERT", "NEW.complaint_id", "NULL", "NEW.kind = 'action_taken'"),
    ("reply", "UPDATE", "NEW.complaint_id", "NULL", f"(NEW.kind = 'action_taken' OR OLD.kind = 'action_taken') AND ({_changed(_REPLY_COLUMNS)})"),
    ("mention", "INSERT", "NEW.complaint_id", "NULL", "NEW.complaint_id IS NOT NULL"),
    ("mention", "UPDATE", "NEW.complaint_id", "NULL", f"NEW.complaint_id IS NOT NULL AND ({_changed(_MENTION_COLUMNS)})"),
    ("mention", "UPDATE", "OLD.complaint_id", "NULL", f"OLD.complaint_id IS NOT NULL AND ({_changed(_MENTION_COLUMNS)})"),
    ("complaint", "UPDATE", "NEW.id", "NULL", _changed(_CASE_COLUMNS)),
)


def upgrade() -> None:
    op.create_table(
        "tally_day",
        sa.Column("day", sa.Integer(), nullable=False),  # the local date's ordinal (date.toordinal)
        sa.Column("kind", _STR(length=8), nullable=False),  # station / officer / acp / dcp
        sa.Column("keys", sa.Text(), nullable=False),  # JSON: the groups, in the data's order
        sa.Column("assigned", sa.Text(), nullable=False),  # JSON: their cases, for the map
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("tallied_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("kind", "day"),
    )
    op.create_table(
        "tally_touch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("held_at", _UTC, nullable=True),  # a holding's start as it was (its day is touched too)
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tally_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", _STR(length=64), nullable=False),
        sa.Column("areas", _STR(length=64), nullable=False),  # fingerprint of station → ACP, DCP
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assignment_assigned_at", "assignment", ["assigned_at"])
    # overdue now: the open holdings still to acknowledge, or to act on, by their deadline
    op.create_index("ix_assignment_open_ack", "assignment", ["status", "acknowledged_at", "acknowledge_by"])
    op.create_index("ix_assignment_open_act", "assignment", ["status", "acted_at", "act_by"])
    is_pg = op.get_bind().dialect.name == "postgresql"
    for n, (table, event, complaint, held, when) in enumerate(_TOUCHES):
        insert = f"INSERT INTO tally_touch (complaint_id, held_at) VALUES ({complaint}, {held})"
        if is_pg:
            op.execute(
                f"CREATE FUNCTION tally_touch_{n}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"{insert}; RETURN NULL; END $$"
            )
            condition = f" WHEN ({when})" if when else ""
            op.execute(
                f"CREATE TRIGGER tally_touch_{n} AFTER {event} ON {table} FOR EACH ROW{condition} "
                f"EXECUTE FUNCTION tally_touch_{n}()"
            )
        else:
            condition = f" WHEN {when.replace('IS DISTINCT FROM', 'IS NOT')}" if when else ""
            op.execute(f"CREATE TRIGGER tally_touch_{n} AFTER {event} ON {table} FOR EACH ROW{condition} BEGIN {insert}; END")
    reopen = "NEW.kind = 'case.reopen' AND NEW.entity = 'complaint'"
    if is_pg:
        op.execute(
            "CREATE FUNCTION tally_touch_reopen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.entity_id ~ '^[0-9]{1,9}$' THEN "
            "INSERT INTO tally_touch (complaint_id, held_at) VALUES (CAST(NEW.entity_id AS INTEGER), NULL); END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER tally_touch_reopen AFTER INSERT ON audit_event FOR EACH ROW WHEN ({reopen}) "
            "EXECUTE FUNCTION tally_touch_reopen()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER tally_touch_reopen AFTER INSERT ON audit_event FOR EACH ROW WHEN {reopen} "
            "AND NEW.entity_id NOT GLOB '*[^0-9]*' AND NEW.entity_id <> '' "
            "BEGIN INSERT INTO tally_touch (complaint_id, held_at) VALUES (CAST(NEW.entity_id AS INTEGER), NULL); END"
        )


def downgrade() -> None:
    is_pg = op.get_bind().dialect.name == "postgresql"
    names = [(f"tally_touch_{n}", table) for n, (table, *_) in enumerate(_TOUCHES)] + [("tally_touch_reopen", "audit_event")]
    for name, table in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if is_pg else f"DROP TRIGGER IF EXISTS {name}")
        if is_pg:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_index("ix_assignment_open_act", table_name="assignment")
    op.drop_index("ix_assignment_open_ack", table_name="assignment")
    op.drop_index("ix_assignment_assigned_at", table_name="assignment")
    op.drop_table("tally_meta")
    op.drop_table("tally_touch")
    op.drop_table("tally_day")
