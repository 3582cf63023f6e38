"""Polling one account: fetch everything newer than its cursor and store it, in one transaction.

Each account is polled by one process at a time, the holder of its lease (:mod:`models.leases`): the poll
first renews or takes the lease, renews it again between pages, and writes the posts and the new cursor in
one transaction that begins by checking the lease's epoch. A process that lost the lease while it read
(paused, cut off, slower than the lease) writes nothing: it rolls back, logs one line and leaves the account
to its new holder. A crash, a 429 or a 5xx part-way loses nothing, and what was read before a failure is
kept (the cursor does not move past what is not stored; ``resume`` records how far a partly read range got).
No transaction is open while the platform is read.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy.engine import Engine

from models.db import session_scope
from models.leases import Lease, LeaseLost, acquire, make_holder_id, renew
from models.mentions import audit, store_mentions
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
HELD_ELSEWHERE = "held by another process"


@dataclass(frozen=True)
class PollOutcome:
    label: str
    fetched: int = 0
    stored: int = 0
    own: int = 0
    complete: bool = False  # the whole range up to now was read and the cursor moved
    skipped: str | None = None  # why nothing was tried or kept: "waiting until ...", "held by another process"
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


@cache
def process_holder() -> str:
    """This process's holder id on the account leases (one per process: host:pid:random)."""
    return make_holder_id()


def lease_s(settings: PollingSettings) -> float:
    """How long a lease lasts unrenewed: two polling intervals and a request, so the holder renews it in
    time on every poll and another process takes the account soon after the holder dies."""
    return 2 * settings.interval_s + settings.request_timeout_s


def poll_account(
    engine: Engine,
    platform: Platform,
    account_id: int,
    *,
    now: datetime,
    settings: PollingSettings,
    clock: Clock | None = None,
    holder: str | None = None,
) -> PollOutcome:
    """Poll one account once, if this process holds (or can take) its lease. ``clock`` reads the time of a
    failure and of each lease renewal: the backoff counts from when the request failed (a timeout may come
    ``request_timeout_s`` after ``now``), not from when the poll began."""
    label = platform.label
    me = holder or process_holder()
    read_clock = clock or (lambda: now)
    duration_s = lease_s(settings)
    with session_scope(engine) as session:
        lease = acquire(session, account_id, holder=me, now=now, lease_s=duration_s)
        if lease is None:
            return PollOutcome(label, skipped=HELD_ELSEWHERE)
        row = session.get(PollCursor, account_id)
        assert row is not None  # made with its account (ensure_account)
        cursor, resume, next_attempt_at, last_error = row.cursor, row.resume, row.next_attempt_at, row.last_error
    if next_attempt_at is not None and next_attempt_at > now:
        return PollOutcome(label, skipped=f"waiting until {next_attempt_at:%H:%M:%S}Z ({last_error})")

    fetched: list[FetchedMention] = []
    new_cursor: str | None = None
    error: PlatformError | None = None
    try:
        for page in platform.fetch(cursor, resume):
            fetched.extend(page.mentions)
            if page.is_last:
                new_cursor = page.cursor
            else:
                if page.resume is not None:
                    resume = page.resume
                lease = _renewed(engine, lease, read_clock(), duration_s)
    except PlatformError as exc:
        error = exc
    except LeaseLost:
        return _lost(label, lease)
    try:
        return _write(engine, platform, lease, fetched, new_cursor, resume, error, now, read_clock, settings)
    except LeaseLost:
        return _lost(label, lease)


def _renewed(engine: Engine, lease: Lease, now: datetime, duration_s: float) -> Lease:
    with session_scope(engine) as session:
        return renew(session, lease, now=now, lease_s=duration_s)


def _lost(label: str, lease: Lease) -> PollOutcome:
    logger.warning(
        "%s: lease epoch %d lost to another process; nothing written, the account is left to it", label, lease.epoch
    )
    return PollOutcome(label, skipped=f"lease epoch {lease.epoch} lost to another process")


def _write(
    engine: Engine,
    platform: Platform,
    lease: Lease,
    fetched: list[FetchedMention],
    new_cursor: str | None,
    resume: str | None,
    error: PlatformError | None,
    now: datetime,
    clock: Clock,
    settings: PollingSettings,
) -> PollOutcome:
    """Store the posts and move the cursor, in one transaction fenced by the lease's epoch (first statement:
    it raises :class:`LeaseLost` and everything rolls back if another process took the lease meanwhile)."""
    account_id = lease.account_id
    with session_scope(engine) as session:
        renew(session, lease, now=clock(), lease_s=lease_s(settings))
        row = session.get(PollCursor, account_id)
        assert row is not None
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
            next_attempt_at = _after_failure(row, error, clock(), settings)
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
            platform.label,
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
