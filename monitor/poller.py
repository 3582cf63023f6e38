"""Polling one account: fetch everything newer than its cursor and store it, in one transaction.

The cursor row is locked for the whole poll (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several bot
processes share the accounts without polling one twice). The posts and the new cursor are written in
the same transaction: a crash, a 429 or a 5xx part-way loses nothing, and what was read before a
failure is kept (the cursor does not move past what is not stored; ``resume`` records how far a
partly read range got).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from models.db import session_scope
from models.mentions import audit, claim_cursor, store_mentions
from models.posts import FetchedMention
from models.stage import Clock
from models.tables import PollCursor
from monitor.platform import (
    AuthFailed,
    Platform,
    PlatformError,
    RateLimited,
)
from monitor.settings import PollingSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    label: str
    fetched: int = 0
    stored: int = 0
    own: int = 0
    complete: bool = False  # the whole range up to now was read and the cursor moved
    skipped: str | None = None  # why nothing was tried: "waiting until ...", "claimed by another process"
    error: str | None = None
    next_attempt_at: datetime | None = None

    def summary(self) -> str:
        if self.skipped:
            return f"{self.label}: {self.skipped}"
        text = f"{self.label}: {self.fetched} read, {self.stored} new"
        if self.own:
            text += f", {self.own} own skipped"
        if self.error:
            text += f"; {self.error}"
        if self.next_attempt_at:
            text += f"; next try {self.next_attempt_at:%Y-%m-%d %H:%M:%S}Z"
        return text


def backoff_s(failures: int, *, initial_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter in its upper half: initial, 2×, 4× … capped at ``max_s``."""
    growth: int = 2 ** max(0, failures - 1)  # typeshed: int ** int is Any (a negative power gives a float)
    ceiling = min(max_s, initial_s * growth)
    return ceiling / 2 + (rng or random).random() * ceiling / 2


def poll_account(
    engine: Engine,
    platform: Platform,
    account_id: int,
    *,
    now: datetime,
    settings: PollingSettings,
    clock: Clock | None = None,
) -> PollOutcome:
    """Poll one account once. ``clock`` reads the time of a failure: the backoff counts from when the request
    failed (a timeout may come ``request_timeout_s`` after ``now``), not from when the poll began."""
    label = platform.label
    with session_scope(engine) as session:
        row = claim_cursor(session, account_id)
        if row is None:
            return PollOutcome(label, skipped="claimed by another process")
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return PollOutcome(label, skipped=f"waiting until {row.next_attempt_at:%H:%M:%S}Z ({row.last_error})")

        fetched: list[FetchedMention] = []
        new_cursor: str | None = None
        resume = row.resume
        error: PlatformError | None = None
        try:
            for page in platform.fetch(row.cursor, row.resume):
                fetched.extend(page.mentions)
                if page.is_last:
                    new_cursor = page.cursor
                elif page.resume is not None:
                    resume = page.resume
        except PlatformError as exc:
            error = exc

        stored = store_mentions(session, account_id, fetched, stored_at=now)
        own = sum(1 for m in fetched if m.is_own)
        next_attempt_at: datetime | None = None
        if error is None:
            row.cursor = new_cursor if new_cursor is not None else row.cursor
            row.resume = None
            row.failures = 0
            row.last_ok_at = now
            row.last_error = None
            if row.is_auth_failed:
                audit(session, "account.auth_restored", "account", account_id, at=now)
            row.is_auth_failed = False
        else:
            row.resume = resume
            next_attempt_at = _after_failure(row, error, clock() if clock else now, settings)
            audit(
                session, "poll.failed", "account", account_id, at=now, error=str(error), error_kind=type(error).__name__
            )
        budget = platform.rate_budget()
        row.rate_remaining = budget.remaining
        row.rate_reset_at = budget.reset_at
        if error is None and budget.remaining == 0 and budget.reset_at is not None and budget.reset_at > now:
            next_attempt_at = budget.reset_at  # spent exactly: wait instead of collecting a 429
        row.next_attempt_at = next_attempt_at
        row.updated_at = now
        session.add(row)
        return PollOutcome(
            label,
            fetched=len(fetched),
            stored=len(stored),
            own=own,
            complete=error is None,
            error=str(error) if error else None,
            next_attempt_at=next_attempt_at,
        )


def _after_failure(row: PollCursor, error: PlatformError, now: datetime, settings: PollingSettings) -> datetime:
    """Record the failure on the cursor row and return when to try again."""
    row.last_error = str(error)[:500]
    if isinstance(error, RateLimited):
        logger.warning("%s", error)
        return max(error.reset_at, now + timedelta(seconds=1))
    if isinstance(error, AuthFailed):
        if not row.is_auth_failed:
            logger.error("%s — re-authorise this account; the other accounts keep going", error)
        row.is_auth_failed = True
        return now + timedelta(seconds=settings.auth_retry_s)
    row.failures += 1
    delay_s = backoff_s(row.failures, initial_s=settings.backoff_initial_s, max_s=settings.backoff_max_s)
    logger.warning("%s (failure %d, retry in %.0f s)", error, row.failures, delay_s)
    return now + timedelta(seconds=delay_s)
