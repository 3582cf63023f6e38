"""The engine, sessions and schema migrations (Alembic, run at start-up)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(RuntimeError):
    """The database cannot be reached or prepared; the message says which and why (never the password)."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite gets WAL, a busy timeout and foreign keys; its folder is created.

    A database error never carries the rows it was given (citizens' posts and names) into a log: the
    bound parameters are hidden, and PostgreSQL's DETAIL and CONTEXT lines, which can quote the failing
    row ("Failing row contains (...)"), are left out of the message (see :func:`_primary_message_only`).
    """
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    sa.event.listen(engine, "handle_error", _primary_message_only)
    return engine


def _primary_message_only(context: sa.engine.ExceptionContext) -> None:
    """Keep only the server's primary message (what failed, on which column or constraint) in the error.

    psycopg's message is the server's whole report, DETAIL and CONTEXT included; for a NOT NULL or CHECK
    violation DETAIL quotes the row, and for invalid JSON CONTEXT quotes the value. The full report stays
    on ``exc.orig.diag`` for code that needs it; ``str()`` (what a traceback in the log shows) loses it.
    """
    original = context.original_exception
    diag = getattr(original, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not isinstance(primary, str) or not primary:
        return
    original.args = (primary,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        wrapped.args = (f"({type(original).__module__}.{type(original).__name__}) {primary}",)


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe for several processes at start-up)."""
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # several bot processes may start at once: one migrates, the others wait for it
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7336152)"))
            config = alembic_config(engine.url.render_as_string(hide_password=False))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.OperationalError as exc:
        raise DatabaseError(f"cannot reach the database at {safe_url(str(engine.url))}: {exc.orig}") from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
