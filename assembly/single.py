"""One bot per SQLite database: a lock beside the file, held for the bot process's life.

SQLite has no row locks (``FOR UPDATE SKIP LOCKED`` means nothing there), so two bots on one file would
classify, route and notify the same posts twice. The second one is refused at start with a clear message.
PostgreSQL needs no such lock: its processes share the work through row locks. The lock is an OS file lock
(``filelock``): it goes when the process dies, ``kill -9`` included, so a crash never leaves the file locked.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy.engine import make_url

from assembly.errors import StartupError


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def hold_single_bot(url: str) -> FileLock | None:
    """The lock that makes this process the only bot on its SQLite file; StartupError if another holds it."""
    path = sqlite_file(url)
    if path is None:
        return None
    lock = FileLock(path.with_name(path.name + ".bot.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise StartupError(
            "database",
            [
                f"another bot is already running on the SQLite database {path}: SQLite takes one bot process "
                "(stop the other one, or use PostgreSQL for several)"
            ],
        ) from exc
    return lock
