"""Alembic environment: runs on the connection ``models.db.migrate`` passes in, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models.corrections  # noqa: F401  (registers the desk's corrections)
import models.followup  # noqa: F401  (registers the follow-up tables)
import models.leases  # noqa: F401  (registers the account leases)
import models.links  # noqa: F401  (registers the signed links' single use)
import models.routing  # noqa: F401  (registers the routing tables)
import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
import models.tally  # noqa: F401  (registers the leaderboard's day tallies)
import models.users  # noqa: F401  (registers the dashboard's accounts and sessions)
from models.db import make_engine

target_metadata = SQLModel.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
