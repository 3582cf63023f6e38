"""Crash safety broken on purpose, so the kill matrix can show that each invariant check catches its breach.

- ``cursor_first``: the poll commits the new cursor on its own before the posts it covers (a kill between the
  two, at ``break:cursor:after``, loses them for good);
- ``notify_resend``: a notification left ``sending`` by a crash is sent again instead of failed (twice);
- ``reply_no_lookup``: the reply reconciliation never finds the reply in the thread (posted again: twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

import monitor.poller
import notify.stage
from models.db import session_scope
from models.outbox import Claimed
from models.routing import OutboxMessage
from models.tables import PollCursor
from monitor.facebook import FacebookPlatform
from monitor.twitter import TwitterPlatform
from tests.e2e.killpoints.hooks import POINTS

BREAKS = ("cursor_first", "notify_resend", "reply_no_lookup")


def _cursor_first(*args: Any, **kwargs: Any) -> Any:
    # poll_account calls _write(engine, platform, lease, fetched, new_cursor, resume, error, now, clock, settings)
    engine, lease, new_cursor, error = args[0], args[2], args[4], args[6]
    if error is None and new_cursor is not None:
        with session_scope(engine) as session:
            row = session.get(PollCursor, lease.account_id)
            assert row is not None
            row.cursor = new_cursor
            session.add(row)
        POINTS.hit("break:cursor:after")
    return _ORIGINAL_WRITE(*args, **kwargs)


def _resend_interrupted(session: Session, *, now: datetime, timeout_s: float, limit: int = 500) -> list[Claimed]:
    stale = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.status == "sending", col(OutboxMessage.claimed_at) < now - timedelta(seconds=timeout_s))
        .limit(limit)
    ).all()
    for row in stale:
        row.status = "pending"
        session.add(row)
    return []


def _never_found(self: object, in_reply_to: str, marker: str) -> str | None:
    return None


_ORIGINAL_WRITE = monitor.poller._write


def apply(name: str | None) -> None:
    if name is None:
        return
    if name == "cursor_first":
        monitor.poller._write = _cursor_first
    elif name == "notify_resend":
        vars(notify.stage)["fail_interrupted"] = _resend_interrupted
    elif name == "reply_no_lookup":
        TwitterPlatform.find_reply = _never_found  # type: ignore[method-assign]
        FacebookPlatform.find_reply = _never_found  # type: ignore[method-assign]
    else:
        raise ValueError(f"no breakage {name!r}; known: {', '.join(BREAKS)}")
