"""Migration 0004 on SQLite and PostgreSQL, on a database in use (cases with their posts and assignments):
it goes down and up again without losing a row, cases filed before it read back as not accusing the police
and are routed as they always were, and the tables the code declares are the tables the migrations build."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import models.followup  # noqa: F401  (registers the follow-up tables)
import models.leases  # noqa: F401  (registers the account leases)
import models.routing  # noqa: F401  (registers the routing tables)
import models.tally  # noqa: F401  (registers the leaderboard's day tallies)
from models.cases import list_cases
from models.db import alembic_config, migrate, session_scope
from models.tables import Complaint
from routing.stage import RouteStage
from tests.integration.test_notify_delivery import NOW, add_complaint, context, org_with_channels


def test_a_database_in_use_goes_down_and_up_and_old_cases_route_to_their_station(engine: Engine) -> None:
    routed = add_complaint(engine, category="theft")
    with session_scope(engine) as session:
        complaint = session.get(Complaint, routed)
        assert complaint is not None
        complaint.is_misconduct = True
        session.add(complaint)
    RouteStage(context(org_with_channels({}))).run(engine, NOW)  # an assignment now points at the case too
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
        assert "is_misconduct" not in {c["name"] for c in sa.inspect(connection).get_columns("complaint")}
        connection.execute(
            sa.text(
                "INSERT INTO complaint (category, confidence, is_emergency, is_vip, station_id, status, created_at,"
                " updated_at) VALUES ('theft', 0.9, false, false, 'l1', 'new', :at, :at)"
            ),
            {"at": NOW},
        )

    migrate(engine)

    with session_scope(engine) as session:
        before, filed_before = sorted(list_cases(session), key=lambda case: case["id"] != routed)
    assert [len(before["posts"]), len(before["assignments"])] == [1, 1]  # nothing lost on the way down and up
    assert (before["misconduct"], filed_before["misconduct"], filed_before["status"]) == (False, False, "new")
    assert RouteStage(context(org_with_channels({}))).run(engine, NOW)["assigned"] == 1
    with session_scope(engine) as session:
        [filed_before] = [case for case in list_cases(session) if case["id"] != routed]
    assert [(a["officer_id"], a["unit"], a["rule"]) for a in filed_before["assignments"]] == [
        ("L1-A", "l1", "on_duty_least_loaded")
    ]


def test_the_migrated_schema_is_the_one_the_tables_declare(engine: Engine) -> None:
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert drift == []
