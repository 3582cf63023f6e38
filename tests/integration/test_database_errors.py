"""A database error never carries citizens' posts or names into the log, on SQLite and PostgreSQL.

The rows here go past the cleaning ``store_mentions`` does, straight to the database, as a future bug or
an unforeseen constraint would; the error is then logged the way the bot logs every failed job.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.mentions import ensure_account
from models.tables import Mention
from monitor.loop import guarded

NAME = "Leela Vishwanath"
TEXT = "Pothole near the QXMARKER junction, two bikes fell"
WORDS = ("Leela", "Vishwanath", "QXMARKER")


def insert(engine: Engine, **overrides: Any) -> None:
    with session_scope(engine) as session:
        account_id = ensure_account(session, platform="x", key="blrcitytraffic", external_user_id="1", label="x")
    row: dict[str, Any] = {
        "platform": "x", "external_id": "1900000000000000001", "account_id": account_id, "author_name": NAME,
        "text": TEXT, "created_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "referenced_authors": [],
        "raw": {"text": TEXT, "from": {"name": NAME}}, "stored_at": datetime(2026, 11, 20, 9, 31, tzinfo=UTC),
    }
    row.update(overrides)
    with session_scope(engine) as session:
        session.execute(sa.insert(Mention).values(row))


def failure_as_logged(engine: Engine, caplog: pytest.LogCaptureFixture, **overrides: Any) -> tuple[str, str]:
    """The exception's str() and the log of the guarded job it failed in (traceback included)."""
    caught: list[BaseException] = []

    def job() -> None:
        try:
            insert(engine, **overrides)
        except sa.exc.DBAPIError as exc:
            caught.append(exc)
            raise

    with caplog.at_level(logging.INFO):
        assert guarded("store", job)() is None
    assert caught, "the database refused the row"
    assert "job store failed" in caplog.text and type(caught[0]).__name__ in caplog.text  # with its traceback
    return str(caught[0]), caplog.text


def test_a_refused_row_is_logged_without_its_values(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    message, logged = failure_as_logged(engine, caplog, text=None)  # NOT NULL: both databases refuse it
    assert "mention.text" in message or '"text"' in message, "the message still says what failed"
    for word in WORDS:
        assert word not in message
        assert word not in logged


@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"author_name": NAME * 20}, "value too long"),  # SQLite would store it
        ({"text": TEXT + "\x00"}, "NUL"),
        ({"text": None}, "not-null constraint"),  # DETAIL: Failing row contains (... the whole row ...)
        ({"raw": {"text": TEXT, "latitude": math.nan}}, "invalid input syntax for type json"),  # CONTEXT quotes it
    ],
    ids=["too long", "NUL byte", "NOT NULL", "NaN in JSON"],
)
def test_postgresql_errors_keep_only_the_primary_message(
    engine: Engine, caplog: pytest.LogCaptureFixture, overrides: dict[str, Any], says: str
) -> None:
    message, logged = failure_as_logged(engine, caplog, **overrides)
    assert says in message
    assert "DETAIL" not in logged and "CONTEXT" not in logged
    for word in WORDS:
        assert word not in message
        assert word not in logged
