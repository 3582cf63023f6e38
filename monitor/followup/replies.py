"""The reply stage: posts what the reply outbox holds into the citizen's thread, once, and says so when
it cannot.

Each run, per account with work (the account of the most urgent reply first; on PostgreSQL ``concurrency``
accounts side by side, each account's own steps one after the other):

1. **Reconcile.** A row left ``sending`` longer than ``sending_timeout_s`` means the bot died between
   posting and recording. Its thread is searched for the reply's marker before anything else is posted
   on that account: found, the row is ``posted`` with that id; not found, it goes back to ``pending``.
2. **The X daily cap** (``x_daily_cap`` replies per account per UTC day; paid API writes): past it the
   account's replies wait until the next UTC midnight, and ``tell`` hears of it once that day.
3. **Post**, one row at a time: claim the most urgent due row (``FOR UPDATE SKIP LOCKED``), check X's
   reply rule, mark it ``sending`` and COMMIT, call the platform, record the outcome in a new transaction.

Outcomes (:func:`decide`): a rate limit makes the row and the rest of the account wait until the reset,
and a rejected token waits ``auth_retry_s``, neither counting an attempt; an outage or an unreadable
answer is retried with exponential backoff and after ``max_attempts`` ends ``failed`` (``tell``); a
deleted parent ends ``failed`` and "not allowed" ends ``not_allowed``, never retried (``tell``); duplicate
content is looked up in the thread, since it may be this reply posted before a crash.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import replies
from models.db import session_scope
from models.mentions import audit
from models.replies import ClaimedReply
from monitor.platform import (
    AuthFailed,
    BadPayload,
    DuplicateContent,
    ParentDeleted,
    Platform,
    PlatformError,
    PrivateReplies,
    RateLimited,
    ReplyNotAllowed,
)

logger = logging.getLogger(__name__)
RUN_COUNTS = ("replies_posted", "replies_reconciled", "replies_failed", "replies_not_allowed", "replies_waiting")


class ReplyProblem(StrEnum):
    NOT_ALLOWED = "not_allowed"  # the platform will never take this reply (X's reply rule, Graph's limits)
    PARENT_DELETED = "parent_deleted"  # the citizen's post is gone
    FAILED = "failed"  # retried until max_attempts, or a duplicate that is not ours
    DAILY_CAP = "daily_cap"  # the X account reached its replies for the day; the rest wait


@dataclass(frozen=True)
class TellEvent:
    """What a person (the case's officer, the desk) must hear: a reply that will not reach the citizen,
    or replies held back by the daily cap (``reply_id``: the first one waiting)."""

    reply_id: int
    complaint_id: int
    account_id: int
    kind: ReplyProblem
    reason: str


Tell = Callable[[Session, TellEvent], None]  # called inside the transaction that records the outcome


@dataclass(frozen=True)
class ReplySettings:
    max_attempts: int = 6
    backoff_initial_s: float = 30.0
    backoff_max_s: float = 1800.0
    sending_timeout_s: float = 120.0
    auth_retry_s: float = 900.0
    x_daily_cap: int = 500  # per X account per UTC day
    batch_size: int = 50  # replies posted per account per run, at most
    concurrency: int = 1  # accounts posting side by side (PostgreSQL; SQLite: always 1)
    private_replies: bool = False  # a Facebook private reply where the row asks for one (is_private)


@dataclass(frozen=True)
class Decision:
    """What to do with a row after a failed call; ``status`` "lookup" means: look in the thread first."""

    status: str  # pending, failed, not_allowed or lookup
    reason: str
    at: datetime | None = None  # pending: not before then
    counts_attempt: bool = False
    tell: ReplyProblem | None = None
    hold_until: datetime | None = None  # the rest of the account waits until then too
    stops_account: bool = False  # post nothing more on this account in this run
    is_auth: bool = False  # the token was rejected: a person must renew it


def backoff_s(attempt: int, settings: ReplySettings) -> float:
    """The wait after the ``attempt``-th failed try (1, 2, ...): doubling from the initial, capped."""
    return float(min(settings.backoff_initial_s * 2 ** max(attempt - 1, 0), settings.backoff_max_s))


def decide(
    error: PlatformError, *, attempts: int, settings: ReplySettings, now: datetime, label: str = ""
) -> Decision:
    """The handling of one failed call, from the error's class; ``attempts``: failed tries before it;
    ``label``: the account's, left out of the reason (the adapters' messages start with it)."""
    reason = str(error).removeprefix(f"{label}: ")[:300]
    if isinstance(error, RateLimited):
        until = max(error.reset_at, now)
        return Decision("pending", reason, at=until, hold_until=until, stops_account=True)
    if isinstance(error, AuthFailed):
        until = now + timedelta(seconds=settings.auth_retry_s)
        return Decision("pending", reason, at=until, hold_until=until, stops_account=True, is_auth=True)
    if isinstance(error, ParentDeleted):
        return Decision("failed", f"parent deleted: {reason}", tell=ReplyProblem.PARENT_DELETED)
    if isinstance(error, ReplyNotAllowed):
        return Decision("not_allowed", reason, tell=ReplyProblem.NOT_ALLOWED)
    if isinstance(error, DuplicateContent):
        return Decision("lookup", reason)
    attempt = attempts + 1
    stops = not isinstance(error, BadPayload)  # an outage stops the account; one unreadable answer does not
    if attempt >= settings.max_attempts:
        return Decision("failed", f"gave up after {attempt} attempts: {reason}", counts_attempt=True,
                        tell=ReplyProblem.FAILED, stops_account=stops)
    at = now + timedelta(seconds=backoff_s(attempt, settings))
    return Decision("pending", reason, at=at, counts_attempt=True, stops_account=stops)


# An X mention as twitter-text finds one: @ or ＠, 1-15 of [A-Za-z0-9_], not inside a word or an address.
_X_MENTION = re.compile(r"(?<![A-Za-z0-9_!#$%&*@＠])[@＠]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@＠])")


def may_reply_on_x(
    *, handle: str, user_id: str, text: str, raw: Mapping[str, Any], referenced_authors: Sequence[str]
) -> bool:
    """X's reply rule (since February 2026): the post's author @-mentioned the replying account (in the
    post's entities or its text, any case) or quoted one of its posts."""
    wanted = handle.lstrip("@＠").lower()
    entities = raw.get("entities")
    mentions = entities.get("mentions") if isinstance(entities, dict) else None
    for mention in mentions if isinstance(mentions, list) else []:
        if isinstance(mention, dict) and (
            str(mention.get("username", "")).lower() == wanted or str(mention.get("id", "")) == user_id
        ):
            return True
    if wanted in {found.group(1).lower() for found in _X_MENTION.finditer(text)}:
        return True
    references = raw.get("referenced_tweets")
    quotes = isinstance(references, list) and any(
        isinstance(r, dict) and r.get("type") == "quoted" for r in references
    )
    return quotes and wanted in {author.lower() for author in referenced_authors}


def next_utc_midnight(now: datetime) -> datetime:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


@dataclass
class _Run:
    """One account's part of a run: the counts so far and the replies found again after a crash."""

    counts: dict[str, int]
    recovered: set[int] = field(default_factory=set)


class ReplyStage:
    """Posts the reply outbox (see the module's docstring); ``platforms`` by ``Account.id``."""

    name = "reply"

    def __init__(self, platforms: Mapping[int, Platform], settings: ReplySettings, tell: Tell) -> None:
        self._platforms = dict(platforms)
        self._settings = settings
        self._tell = tell

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        counts = dict.fromkeys(RUN_COUNTS, 0)
        stale_before = now - timedelta(seconds=self._settings.sending_timeout_s)
        with session_scope(engine) as session:
            accounts = replies.accounts_with_work(session, now=now, sending_before=stale_before)
        # each account's replies one after the other (its holds, its cap, its reconciling come first); on
        # PostgreSQL a few accounts side by side, SQLite (one writer) one account at a time
        workers = 1 if engine.dialect.name == "sqlite" else self._settings.concurrency
        if workers == 1 or len(accounts) <= 1:
            done = [self._run_account(engine, account_id, now) for account_id in accounts]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reply") as pool:
                done = list(pool.map(partial(self._run_account, engine, now=now), accounts))
        for account_counts in done:
            for key, value in account_counts.items():
                counts[key] += value
        return counts

    def _run_account(self, engine: Engine, account_id: int, now: datetime) -> dict[str, int]:
        run = _Run(dict.fromkeys(RUN_COUNTS, 0))
        platform = self._platforms.get(account_id)
        if platform is None:
            logger.warning("replies of account %d wait: no platform is configured for it", account_id)
        elif self._reconcile(engine, account_id, platform, now, run):
            self._post_due(engine, account_id, platform, now, run)
        return run.counts

    # -- 1. reconcile ------------------------------------------------------------------------------
    def _reconcile(self, engine: Engine, account_id: int, platform: Platform, now: datetime, run: _Run) -> bool:
        """Look up the account's rows left ``sending``; False when posting must wait (a lookup failed)."""
        stale_before = now - timedelta(seconds=self._settings.sending_timeout_s)
        with session_scope(engine) as session:
            stale = replies.claim_stale(
                session, account_id=account_id, sending_before=stale_before, now=now, limit=self._settings.batch_size
            )
        for row in stale:
            try:
                found = platform.find_reply(row.in_reply_to, row.marker)
            except PlatformError as exc:
                if self._lookup_failed(engine, row, platform, exc, now, run):
                    continue
                return False
            with session_scope(engine) as session:
                if found is not None:
                    replies.mark_posted(session, reply_id=row.id, external_id=found, now=now)
                    audit(session, "reply.reconciled", "reply", row.id, at=now, external_id=found)
                    run.counts["replies_reconciled"] += 1
                    logger.info("%s: reply %d was posted before an interruption, found as %s", platform.label,
                                row.id, found)
                else:
                    reason = "interrupted while sending; not in the thread, so posted again"
                    replies.reschedule(session, reply_id=row.id, at=now, reason=reason, counts_attempt=False)
                    audit(session, "reply.requeued", "reply", row.id, at=now, reason=reason)
                    run.recovered.add(row.id)
                    logger.info("%s: reply %d was interrupted before it was posted; posting it again",
                                platform.label, row.id)
        return True

    def _lookup_failed(
        self, engine: Engine, row: ClaimedReply, platform: Platform, exc: PlatformError, now: datetime, run: _Run
    ) -> bool:
        """Record a lookup that failed; True when the account may go on (the row was settled anyway)."""
        decision = decide(exc, attempts=row.attempts, settings=self._settings, now=now, label=platform.label)
        with session_scope(engine) as session:
            if decision.status == "failed" and decision.tell is ReplyProblem.PARENT_DELETED:
                self._close(session, row, platform, decision, now, run)  # our reply went with the parent
                return True
            if decision.hold_until is not None:
                run.counts["replies_waiting"] += replies.hold_account(
                    session, account_id=row.account_id, until=decision.hold_until
                )
                logger.info("%s: could not look for reply %d yet (%s); the account waits until %s",
                            platform.label, row.id, decision.reason, f"{decision.hold_until:%Y-%m-%d %H:%M:%S}Z")
                return False
            reason = f"could not check whether it was posted: {decision.reason}"
            attempts = replies.note_unchecked(session, reply_id=row.id, reason=reason)
            if attempts >= self._settings.max_attempts:
                closing = Decision("failed", f"gave up after {attempts} attempts: {reason}", tell=ReplyProblem.FAILED)
                self._close(session, row, platform, closing, now, run)
            else:
                logger.info("%s: %s (reply %d, attempt %d)", platform.label, reason, row.id, attempts)
        return False

    # -- 2 and 3. the daily cap, then post ---------------------------------------------------------
    def _post_due(self, engine: Engine, account_id: int, platform: Platform, now: datetime, run: _Run) -> None:
        for _ in range(self._settings.batch_size):
            with session_scope(engine) as session:
                room = self._room_today(session, account_id, platform, now)
                if room is not None and room <= 0:
                    row = None
                else:
                    row = replies.claim_next(session, account_id=account_id, now=now)
                    if row is None:
                        return
                    refusal = self._x_rule(session, row, platform)
                    if refusal is not None:
                        self._close(session, row, platform, refusal, now, run)
                        continue
            if row is None:
                self._hold_for_cap(engine, account_id, platform, now, run)
                return
            # committed: the row is ``sending`` before the platform hears of it
            is_private = self._settings.private_replies and row.is_private and isinstance(platform, PrivateReplies)
            try:
                if is_private:
                    assert isinstance(platform, PrivateReplies)
                    external_id = platform.post_private_reply(row.in_reply_to, row.text)
                else:
                    external_id = platform.post_reply(row.in_reply_to, row.text)
            except PlatformError as exc:
                if self._failed(engine, row, platform, exc, now, run, is_private=is_private):
                    return
                continue
            with session_scope(engine) as session:
                replies.mark_posted(session, reply_id=row.id, external_id=external_id, now=now)
                audit(session, "reply.posted", "reply", row.id, at=now, external_id=external_id, private=is_private)
            run.counts["replies_posted"] += 1
            logger.info("%s: reply %d posted as %s%s", platform.label, row.id, external_id,
                        " (a private reply)" if is_private else "")

    def _room_today(self, session: Session, account_id: int, platform: Platform, now: datetime) -> int | None:
        """How many more replies the X account may post today (None: no cap on this platform). The account
        is locked until the claim that follows commits, so two processes never both take the last room."""
        if platform.platform != "x":
            return None
        replies.lock_account(session, account_id=account_id)
        since = next_utc_midnight(now) - timedelta(days=1)
        return self._settings.x_daily_cap - replies.posted_since(session, account_id=account_id, since=since)

    def _hold_for_cap(self, engine: Engine, account_id: int, platform: Platform, now: datetime, run: _Run) -> None:
        until = next_utc_midnight(now)
        with session_scope(engine) as session:
            first = replies.peek_due(session, account_id=account_id, now=now)
            held = replies.hold_account(session, account_id=account_id, until=until)
            run.counts["replies_waiting"] += held
            today = until - timedelta(days=1)
            if first is None or replies.cap_told_since(session, account_id=account_id, since=today):
                return
            cap = self._settings.x_daily_cap
            reason = f"{cap} replies posted today (UTC); {held} wait until {until:%Y-%m-%d %H:%M}Z"
            audit(session, replies.DAILY_CAP_KIND, "account", account_id, at=now, held=held, cap=cap)
            self._tell(session, TellEvent(first.id, first.complaint_id, account_id, ReplyProblem.DAILY_CAP, reason))
        logger.info("%s: daily cap reached: %s", platform.label, reason)

    def _x_rule(self, session: Session, row: ClaimedReply, platform: Platform) -> Decision | None:
        """A refusal when X would refuse the reply (its author did not mention or quote the account)."""
        if platform.platform != "x":
            return None
        mention, account = replies.parent_and_account(session, reply=row)
        if mention is None or account is None or may_reply_on_x(
            handle=account.key, user_id=account.external_user_id, text=mention.text, raw=mention.raw or {},
            referenced_authors=mention.referenced_authors or [],
        ):
            return None
        reason = f"the post does not mention or quote @{account.key}: X allows no reply to it from the API"
        return Decision("not_allowed", reason, tell=ReplyProblem.NOT_ALLOWED)

    # -- outcomes ----------------------------------------------------------------------------------
    def _failed(
        self, engine: Engine, row: ClaimedReply, platform: Platform, exc: PlatformError, now: datetime, run: _Run,
        *, is_private: bool,
    ) -> bool:
        """Record a failed call; True when the account must stop for this run."""
        decision = decide(exc, attempts=row.attempts, settings=self._settings, now=now, label=platform.label)
        if decision.status == "lookup":
            return self._duplicate(engine, row, platform, decision, now, run)
        if decision.status == "not_allowed" and row.id in run.recovered:
            note = " (this reply was interrupted while sending: the one already there may be ours)"
            decision = replace(decision, reason=decision.reason + note)
        with session_scope(engine) as session:
            if decision.status == "pending":
                self._wait(session, row, platform, decision, now, run)
            else:
                self._close(session, row, platform, decision, now, run)
        return decision.stops_account

    def _duplicate(
        self, engine: Engine, row: ClaimedReply, platform: Platform, decision: Decision, now: datetime, run: _Run
    ) -> bool:
        """X refused the text as a duplicate: ours from before a crash, or someone else's doing."""
        try:
            found = platform.find_reply(row.in_reply_to, row.marker)
        except PlatformError as exc:
            return self._failed(engine, row, platform, exc, now, run, is_private=False)
        with session_scope(engine) as session:
            if found is not None:
                replies.mark_posted(session, reply_id=row.id, external_id=found, now=now)
                audit(session, "reply.reconciled", "reply", row.id, at=now, external_id=found, after="duplicate")
                run.counts["replies_reconciled"] += 1
                logger.info("%s: reply %d refused as a duplicate; it is ours, found as %s", platform.label, row.id,
                            found)
                return False
            closing = Decision("failed", f"duplicate content, and no reply of ours in the thread: {decision.reason}",
                               tell=ReplyProblem.FAILED)
            self._close(session, row, platform, closing, now, run)
        return False

    def _wait(
        self, session: Session, row: ClaimedReply, platform: Platform, decision: Decision, now: datetime, run: _Run
    ) -> None:
        assert decision.at is not None  # a pending decision says until when
        attempts = replies.reschedule(
            session, reply_id=row.id, at=decision.at, reason=decision.reason, counts_attempt=decision.counts_attempt
        )
        run.counts["replies_waiting"] += 1
        held = 0
        if decision.hold_until is not None:
            held = replies.hold_account(session, account_id=row.account_id, until=decision.hold_until)
            run.counts["replies_waiting"] += held
        audit(session, "reply.waiting", "reply", row.id, at=now, reason=decision.reason, attempts=attempts,
              until=decision.at.isoformat(), account_held=held)
        counted = "no attempt counted"
        if decision.counts_attempt:
            counted = f"attempt {attempts} of {self._settings.max_attempts}"
        who = f"reply {row.id} and {held} more of the account" if held else f"reply {row.id}"
        log = logger.warning if decision.is_auth else logger.info
        log("%s: %s wait until %s (%s): %s", platform.label, who, f"{decision.at:%Y-%m-%d %H:%M:%S}Z", counted,
            decision.reason)

    def _close(
        self, session: Session, row: ClaimedReply, platform: Platform, decision: Decision, now: datetime, run: _Run
    ) -> None:
        replies.mark_closed(session, reply_id=row.id, status=decision.status, reason=decision.reason,
                            counts_attempt=decision.counts_attempt)
        audit(session, f"reply.{decision.status}", "reply", row.id, at=now, reason=decision.reason)
        run.counts["replies_not_allowed" if decision.status == "not_allowed" else "replies_failed"] += 1
        if decision.tell is not None:
            self._tell(session, TellEvent(row.id, row.complaint_id, row.account_id, decision.tell, decision.reason))
        logger.info("%s: reply %d %s: %s", platform.label, row.id, decision.status.replace("_", " "), decision.reason)
