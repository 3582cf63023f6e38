"""Migration 0003 on SQLite and PostgreSQL: assignments made before it keep working, with no rank."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from models.cases import list_cases
from models.db import alembic_config, migrate, session_scope
from tests.integration.test_notify_delivery import NOW, add_complaint


def test_assignments_from_before_0003_read_back_without_a_rank(engine: Engine) -> None:
    complaint_id = add_complaint(engine, category="theft")
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
        assert "rank" not in {c["name"] for c in sa.inspect(connection).get_columns("assignment")}
        connection.execute(
            sa.text(
                "INSERT INTO assignment (complaint_id, docket, officer_id, unit_id, station_id, role, rule, status,"
                " assigned_at) VALUES (:c, 'BLR-2026-000001', 'L1-A', 'l1', 'l1', 'assignee', 'on_duty', 'open', :at)"
            ),
            {"c": complaint_id, "at": NOW},
        )

    migrate(engine)

    with session_scope(engine) as session:
        [case] = list_cases(session)
    [held] = case["assignments"]
    assert (held["officer_id"], held["rank"], held["unit"], held["rule"]) == ("L1-A", None, "l1", "on_duty")
