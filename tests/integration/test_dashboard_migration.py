"""Migration 0006 on SQLite and PostgreSQL: the dashboard's tables come and go without touching the cases,
and an account made before a downgrade and upgrade is simply gone (no half-migrated rows)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from dashboard.users import add_user, list_users
from models.cases import list_cases
from models.db import alembic_config, migrate, session_scope
from tests.integration.test_dashboard_auth import NOW
from tests.integration.test_dashboard_pages import add_case


def test_the_dashboard_tables_go_down_and_up_and_the_cases_stay(engine: Engine) -> None:
    add_case(engine, "BLR-2026-000001", station="s1", holder="L1-A")
    add_user(engine, username="asha", role="desk", password="a long enough password", now=NOW)

    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
        tables = set(sa.inspect(connection).get_table_names())
    migrate(engine)

    assert {"dashboard_user", "dashboard_session"}.isdisjoint(tables) and "complaint" in tables
    assert {"dashboard_user", "dashboard_session"} <= set(sa.inspect(engine).get_table_names())
    assert list_users(engine, now=NOW) == []
    with session_scope(engine) as session:
        assert [c["docket"] for c in list_cases(session)] == ["BLR-2026-000001"]
