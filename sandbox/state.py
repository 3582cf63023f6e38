"""The sandbox's in-memory world behind one lock: accounts, posts and their release, replies
received, rate budgets, faults and request statistics."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.config import (
    BENGALURU,
    DEFAULT_RATE_LIMITS,
    DEMO_FACEBOOK_PAGES,
    DEMO_X_ACCOUNTS,
    FacebookPage,
    GeoCity,
    RateBudget,
    XAccount,
)
from sandbox.faults import FaultBook, FaultSpec
from sandbox.ids import x_user_id
from sandbox.posts import Directory, PostStore, StoredPost, build_store, mentioned_handles
from sandbox.ratelimit import RateLimiter, Usage
from sandbox.scenario import ScenarioError, ScenarioPost

PRIVATE_REPLY_WINDOW = timedelta(days=7)  # Graph: a private reply within 7 days of the comment


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReceivedReply:
    """Something the bot posted: a tweet (``POST /2/tweets``) or a Graph comment."""

    platform: str
    path: str
    in_reply_to: str | None  # X: the tweet replied to; Graph: the object commented on
    text: str
    id: str
    account: str  # X username / page id that posted it
    received_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "path": self.path, "in_reply_to": self.in_reply_to,
            "text": self.text, "id": self.id, "account": self.account,
            "received_at": self.received_at.isoformat(),
        }


class PostRejected(Exception):
    """A post the platform refuses; ``reason`` is one of X's "duplicate", "parent_missing" (deleted,
    hidden or unknown), "not_allowed" (the parent's author did not mention the account), or Graph's
    "already_replied" (one private reply per comment) and "too_old" (past the 7-day window)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def default_accounts(
    scenario: Sequence[ScenarioPost],
) -> tuple[tuple[XAccount, ...], tuple[FacebookPage, ...]]:
    """Accounts a scenario names (demo ids for the demo accounts), else the demo accounts."""
    demo = Directory(DEMO_X_ACCOUNTS, DEMO_FACEBOOK_PAGES)
    x_accounts: dict[str, XAccount] = {}
    pages: dict[str, FacebookPage] = {}
    for post in scenario:
        if post.platform == "x" and post.account:
            found = demo.x_account(post.account)
            x_accounts.setdefault(post.account.lower(), found or XAccount(x_user_id(post.account), post.account))
        elif post.platform == "facebook" and post.account:
            pages.setdefault(post.account, demo.page(post.account) or FacebookPage(post.account, post.account))
    return (tuple(x_accounts.values()) or DEMO_X_ACCOUNTS, tuple(pages.values()) or DEMO_FACEBOOK_PAGES)


class SandboxState:
    """Thread-safe world. Scenario posts start hidden (``release_all=False``) and become visible in
    created_at order through :meth:`release`; seeded page posts and posts made through the API are
    visible at once."""

    def __init__(
        self,
        scenario: Sequence[ScenarioPost],
        *,
        x_accounts: Sequence[XAccount] | None = None,
        facebook_pages: Sequence[FacebookPage] | None = None,
        rate_limits: Mapping[str, RateBudget] | None = None,
        city: GeoCity = BENGALURU,
        release_all: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        derived_x, derived_pages = default_accounts(scenario)
        self.directory = Directory(
            tuple(x_accounts) if x_accounts is not None else derived_x,
            tuple(facebook_pages) if facebook_pages is not None else derived_pages,
        )
        self.city = city
        self.clock = clock
        self._lock = threading.RLock()
        self._store: PostStore = build_store(scenario, self.directory)
        self._queue = deque(sorted((p for p in self._store.out if p.seq >= 0), key=lambda p: p.seq))
        self._hidden = {(p.platform, p.external_id) for p in self._queue}
        self._limiter = RateLimiter({**DEFAULT_RATE_LIMITS, **(rate_limits or {})})
        self._faults = FaultBook()
        self._received: list[ReceivedReply] = []
        self._deleted: set[tuple[str, str]] = set()  # (platform, external id)
        self._replied_privately: set[str] = set()  # comment ids
        self._requests: Counter[tuple[str, str, str, int]] = Counter()  # platform, method, path, status
        if release_all:
            self.release_all()

    def now_s(self) -> float:
        return self.clock().timestamp()

    # -- release ---------------------------------------------------------------------------
    def release(self, n: int) -> int:
        """Make the next ``n`` hidden scenario posts visible; returns how many were released."""
        with self._lock:
            released = 0
            while self._queue and released < n:
                post = self._queue.popleft()
                self._hidden.discard((post.platform, post.external_id))
                released += 1
            return released

    def release_all(self) -> int:
        with self._lock:
            return self.release(len(self._queue))

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- reading the world -----------------------------------------------------------------
    def posts(self, platform: str | None = None, *, include_hidden: bool = False) -> list[StoredPost]:
        """Posts in insertion order (seeds, scenario by created_at, then API/injected posts)."""
        with self._lock:
            return [
                p for p in self._store.out
                if (platform is None or p.platform == platform)
                and (include_hidden or (p.platform, p.external_id) not in self._hidden)
                and (p.platform, p.external_id) not in self._deleted
            ]

    def find(self, platform: str, post_id: str, *, include_hidden: bool = False) -> StoredPost | None:
        """A post by its external id (or its scenario id); None once deleted."""
        with self._lock:
            post = self._store.get(platform, post_id)
            if post is None or (platform, post.external_id) in self._deleted:
                return None
            if not include_hidden and (platform, post.external_id) in self._hidden:
                return None
            return post

    # -- changing the world ----------------------------------------------------------------
    def inject(self, post: ScenarioPost) -> StoredPost:
        """Add a post while running; it is visible at once."""
        with self._lock:
            self._store.problems.clear()
            stored = self._store.add_scenario(post, -1, "injected")
            if stored is None:
                raise ScenarioError(list(self._store.problems), source="injected post")
            return stored

    def delete(self, platform: str, post_id: str) -> StoredPost | None:
        """Delete a post (by its author, say): gone from every read, and a reply to it is refused.
        Returns the post, or None when there was no such post."""
        with self._lock:
            post = self.find(platform, post_id, include_hidden=True)
            if post is not None:
                self._deleted.add((platform, post.external_id))
            return post

    def post_tweet(self, account: XAccount, text: str, in_reply_to: str | None, path: str) -> StoredPost:
        """A tweet by ``account``. X refuses a reply to a post it cannot see, a reply to a post whose
        author did not @-mention the account (its own posts excepted; quotes are not modelled) and an
        identical text from the same account."""
        with self._lock:
            parent = self.find("x", in_reply_to) if in_reply_to else None
            if in_reply_to and parent is None:
                raise PostRejected("parent_missing")
            if parent is not None and parent.author_id != account.user_id \
                    and account.username.lower() not in mentioned_handles(parent.text):
                raise PostRejected("not_allowed")
            if any(p.author_id == account.user_id and p.text == text for p in self._store.out):
                raise PostRejected("duplicate")
            stored = self._store.new_tweet(account, text, parent, self.clock())
            self._received.append(ReceivedReply("x", path, in_reply_to, text, stored.external_id,
                                                account.username, stored.created_at))
            return stored

    def post_comment(self, parent: StoredPost, page: FacebookPage, text: str, path: str) -> StoredPost:
        """A comment by ``page`` on ``parent`` (a post or a comment)."""
        with self._lock:
            stored = self._store.new_comment(parent, text=text, author_name=page.name,
                                             author_id=page.page_id, created_at=self.clock(), source="api")
            self._received.append(ReceivedReply("facebook", path, parent.external_id, text,
                                                stored.external_id, page.page_id, stored.created_at))
            return stored

    def post_private_reply(self, comment: StoredPost, page: FacebookPage, text: str, path: str) -> str:
        """A private message from ``page`` to the author of ``comment``; returns the message id. Graph
        allows one per comment, within 7 days of the comment."""
        with self._lock:
            if comment.external_id in self._replied_privately:
                raise PostRejected("already_replied")
            if self.clock() - comment.created_at > PRIVATE_REPLY_WINDOW:
                raise PostRejected("too_old")
            self._replied_privately.add(comment.external_id)
            message_id = f"m_sbx{len(self._received) + 1:06d}{comment.external_id.replace('_', '')}"
            self._received.append(ReceivedReply("facebook", path, comment.external_id, text, message_id,
                                                page.page_id, self.clock()))
            return message_id

    def received(self) -> list[ReceivedReply]:
        with self._lock:
            return list(self._received)

    # -- budgets and faults ----------------------------------------------------------------
    def spend(self, budget: str, caller: str) -> Usage:
        with self._lock:
            return self._limiter.spend(budget, caller, self.now_s())

    def exhaust(self, budget: str, caller: str, reset_in_s: float) -> Usage:
        with self._lock:
            return self._limiter.exhaust(budget, caller, self.now_s(), reset_in_s)

    def peek_budget(self, budget: str, caller: str) -> Usage:
        with self._lock:
            return self._limiter.peek(budget, caller, self.now_s())

    def add_fault(self, spec: FaultSpec) -> int:
        with self._lock:
            return self._faults.add(spec, self.now_s())

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, platform: str, method: str, path: str) -> FaultSpec | None:
        with self._lock:
            return self._faults.take(platform, method, path, self.now_s())

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._faults.describe(self.now_s())

    # -- statistics ------------------------------------------------------------------------
    def record_request(self, platform: str, method: str, path: str, status: int) -> None:
        with self._lock:
            self._requests[(platform, method, path, status)] += 1

    def request_count(self, *, path_contains: str = "", method: str | None = None,
                      status: int | None = None, platform: str | None = None) -> int:
        """How many requests matched (a timeout fault counts with status 0)."""
        with self._lock:
            return sum(
                count for (plat, meth, path, code), count in self._requests.items()
                if path_contains in path and (method is None or meth == method)
                and (status is None or code == status) and (platform is None or plat == platform)
            )

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_path: dict[str, dict[str, int]] = {}
            for (_, method, path, status), count in sorted(self._requests.items()):
                codes = by_path.setdefault(f"{method} {path}", {})
                codes[str(status)] = codes.get(str(status), 0) + count
            return {
                "total": sum(self._requests.values()),
                "by_path": by_path,
                "posts": {"visible": len(self._store.out) - len(self._hidden | self._deleted),
                          "pending": len(self._queue), "deleted": len(self._deleted)},
                "received": len(self._received),
            }


def accounts_summary(accounts: Iterable[XAccount | FacebookPage]) -> list[dict[str, str]]:
    return [
        {"platform": "x", "user_id": a.user_id, "username": a.username} if isinstance(a, XAccount)
        else {"platform": "facebook", "page_id": a.page_id, "name": a.name}
        for a in accounts
    ]
