"""Opening the database at start-up: reachable, a supported version, the schema brought up to date."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from assembly.errors import StartupError
from models.db import DatabaseError, make_engine, migrate, safe_url

MIN_SQLITE = (3, 35)  # RETURNING and ON CONFLICT DO UPDATE
MIN_POSTGRESQL = 13  # FOR UPDATE SKIP LOCKED, and the oldest release still supported upstream


def open_database(url: str, *, prepare: bool = True) -> Engine:
    """An engine on ``url`` after checking the server answers and is a version the bot supports; with
    ``prepare`` the schema is migrated to the newest revision. Raises StartupError saying what is wrong."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            version = _version(connection)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise StartupError("database", [f"cannot reach {safe_url(url)}: {str(reason).strip()}"]) from exc
    problem = _unsupported(engine.dialect.name, version)
    if problem:
        engine.dispose()
        raise StartupError("database", [f"{safe_url(url)}: {problem}"])
    if prepare:
        try:
            migrate(engine)
        except DatabaseError as exc:
            engine.dispose()
            raise StartupError("database", [str(exc)]) from exc
    return engine


def check_database(url: str) -> None:
    """What :func:`open_database` checks, writing nothing: a SQLite file that does not exist yet is not
    created (its folder must be one the bot can create files in). Raises StartupError."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.exists():
            folder = next((p for p in path.parents if p.exists()), Path("/"))
            if not os.access(folder, os.W_OK):
                raise StartupError("database", [f"cannot create {path}: {folder} is not writable"])
            return
    open_database(url, prepare=False).dispose()


def _version(connection: sa.Connection) -> tuple[int, ...]:
    if connection.dialect.name == "sqlite":
        import sqlite3

        return tuple(int(p) for p in sqlite3.sqlite_version.split("."))
    info = connection.dialect.server_version_info or ()
    return tuple(int(p) for p in info if isinstance(p, int))


def _unsupported(dialect: str, version: tuple[int, ...]) -> str | None:
    shown = ".".join(str(p) for p in version)
    if dialect == "sqlite" and version < MIN_SQLITE:
        return f"SQLite {shown} is too old (needs {'.'.join(map(str, MIN_SQLITE))} or newer)"
    if dialect == "postgresql" and version and version[0] < MIN_POSTGRESQL:
        return f"PostgreSQL {shown} is too old (needs {MIN_POSTGRESQL} or newer)"
    return None
