"""The sandbox's posts: scenario lines turned into platform objects with real-looking ids and threads."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sandbox.config import FacebookPage, XAccount
from sandbox.ids import facebook_user_id, snowflake_at, x_user_id
from sandbox.scenario import Platform, ScenarioError, ScenarioPost

Source = Literal["scenario", "seed", "api", "injected"]

_HANDLE = re.compile(r"(?<![\w@])@(\w{1,15})")
FB_POST_BASE = 122_100_000_000_000_000
FB_COMMENT_BASE = 1_052_000_000_000_000
SEED_PAGE_POSTS = (
    "Road safety week: wear a helmet on every ride, pillion riders too.",
    "Share your complaints in the comments or message us; our team reads every one.",
    "Emergency? Dial 112. For traffic updates follow this page.",
)


@dataclass(frozen=True)
class StoredPost:
    """A post as the platforms hold it. ``account`` is the X user id / page id it addresses or belongs to."""

    platform: Platform
    external_id: str
    kind: str  # X: mention, post (by the account itself); Graph: comment, tagged, page_post
    text: str
    author_name: str  # X username or Facebook display name
    author_id: str
    account: str
    created_at: datetime
    in_reply_to: str | None  # external id of the parent
    conversation_id: str  # X: id of the thread's first post; Graph: id of the post a comment hangs on
    source: Source
    seq: int  # release order among scenario posts; -1 for posts that are always visible
    lat: float | None = None
    lon: float | None = None
    place: str | None = None


@dataclass
class Directory:
    """The configured accounts, looked up by id, name or token."""

    x_accounts: tuple[XAccount, ...]
    pages: tuple[FacebookPage, ...]

    def x_account(self, name_or_id: str | None) -> XAccount | None:
        if name_or_id is None:
            return self.x_accounts[0] if self.x_accounts else None
        wanted = name_or_id.lstrip("@").lower()
        for account in self.x_accounts:
            if wanted in (account.username.lower(), account.user_id):
                return account
        return None

    def page(self, name_or_id: str | None) -> FacebookPage | None:
        if name_or_id is None:
            return self.pages[0] if self.pages else None
        for page in self.pages:
            if name_or_id in (page.page_id, page.name):
                return page
        return None

    def x_user_id(self, username: str) -> str:
        account = self.x_account(username)
        return account.user_id if account else x_user_id(username)


def mentioned_handles(text: str) -> set[str]:
    """The X handles a text @-mentions, lower-cased."""
    return {match.group(1).lower() for match in _HANDLE.finditer(text)}


def _describe(post: ScenarioPost) -> str:
    label = f"id {post.id}" if post.id else f"{post.created_at.isoformat()} {post.text[:30]!r}"
    return f"{post.platform} post {label}"


class PostStore:
    """Every post of the world in insertion order, with the id counters. Not thread-safe."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.by_key: dict[tuple[str, str], StoredPost] = {}  # (platform, scenario-or-external id)
        self.out: list[StoredPost] = []
        self.page_posts: dict[str, list[StoredPost]] = {}  # page id -> the page's own posts
        self.problems: list[str] = []
        self.last_x_id = 0

    def get(self, platform: str, post_id: str) -> StoredPost | None:
        return self.by_key.get((platform, post_id))

    def next_x_id(self, created_at: datetime) -> str:
        self.last_x_id = max(snowflake_at(created_at), self.last_x_id + 1)
        return str(self.last_x_id)

    def add(self, stored: StoredPost, scenario_id: str | None = None) -> StoredPost:
        self.out.append(stored)
        if stored.kind == "page_post":
            self.page_posts.setdefault(stored.account, []).append(stored)
        self.by_key[(stored.platform, stored.external_id)] = stored
        if scenario_id is not None:
            self.by_key[(stored.platform, scenario_id)] = stored
        return stored

    def add_scenario(self, post: ScenarioPost, seq: int, source: Source) -> StoredPost | None:
        """Store one scenario post; None (and a line in ``problems``) when it cannot be placed."""
        if post.id is not None and self.get(post.platform, post.id) is not None:
            self.problems.append(f"{_describe(post)}: id already taken")
            return None
        if post.platform == "x":
            return self._x_post(post, seq, source)
        page = self.directory.page(post.account)
        if page is None:
            self.problems.append(f"{_describe(post)}: no Facebook page {post.account!r} is configured")
            return None
        if post.kind == "comment":
            return self._fb_comment(post, page, seq, source)
        is_page_post = post.kind == "page_post"
        return self.page_post(page, post.text, post.created_at, kind=post.kind,
                              author=None if is_page_post else post.author, scenario=post,
                              seq=-1 if is_page_post else seq, source=source)

    def _x_post(self, post: ScenarioPost, seq: int, source: Source) -> StoredPost | None:
        account = self.directory.x_account(post.account)
        if account is None:
            self.problems.append(f"{_describe(post)}: no X account {post.account!r} is configured")
            return None
        parent = self.get("x", post.in_reply_to) if post.in_reply_to else None
        if post.in_reply_to and parent is None:
            self.problems.append(f"{_describe(post)}: in_reply_to {post.in_reply_to} is not an earlier post")
            return None
        if post.id is not None:
            external_id = post.id
            self.last_x_id = max(self.last_x_id, int(post.id))
        else:
            external_id = self.next_x_id(post.created_at)
        text = post.text
        is_own = post.author.lower() == account.username.lower()
        if not is_own and "@" + account.username.lower() not in text.lower():
            text = f"@{account.username} {text}"  # a mention always names the account on X
        return self.add(
            StoredPost(
                platform="x", external_id=external_id, kind="post" if is_own else "mention", text=text,
                author_name=post.author, author_id=self.directory.x_user_id(post.author),
                account=account.user_id, created_at=post.created_at,
                in_reply_to=parent.external_id if parent else None,
                conversation_id=parent.conversation_id if parent else external_id,
                source=source, seq=seq, lat=post.lat, lon=post.lon, place=post.place,
            ),
            post.id,
        )

    def new_tweet(self, account: XAccount, text: str, parent: StoredPost | None,
                  created_at: datetime) -> StoredPost:
        external_id = self.next_x_id(created_at)
        return self.add(StoredPost(
            platform="x", external_id=external_id, kind="post", text=text,
            author_name=account.username, author_id=account.user_id,
            account=parent.account if parent else account.user_id, created_at=created_at,
            in_reply_to=parent.external_id if parent else None,
            conversation_id=parent.conversation_id if parent else external_id,
            source="api", seq=-1,
        ))

    def page_post(self, page: FacebookPage, text: str, created_at: datetime, *, kind: str,
                  author: str | None, scenario: ScenarioPost | None, seq: int, source: Source) -> StoredPost:
        number = FB_POST_BASE + len(self.out)
        external_id = scenario.id if scenario and scenario.id else f"{page.page_id}_{number}"
        return self.add(
            StoredPost(
                platform="facebook", external_id=external_id, kind=kind, text=text,
                author_name=author or page.name,
                author_id=page.page_id if author is None else facebook_user_id(author),
                account=page.page_id, created_at=created_at, in_reply_to=None,
                conversation_id=external_id, source=source, seq=seq,
                lat=scenario.lat if scenario else None, lon=scenario.lon if scenario else None,
                place=scenario.place if scenario else None,
            ),
            scenario.id if scenario else None,
        )

    def new_comment(self, parent: StoredPost, *, text: str, author_name: str, author_id: str,
                    created_at: datetime, source: Source, seq: int = -1,
                    external_id: str | None = None) -> StoredPost:
        return self.add(make_comment(parent, lambda i: self.get("facebook", i), text=text, author_name=author_name,
                                     author_id=author_id, created_at=created_at,
                                     number=FB_COMMENT_BASE + len(self.out), source=source, seq=seq,
                                     external_id=external_id))

    def _fb_comment(self, post: ScenarioPost, page: FacebookPage, seq: int, source: Source) -> StoredPost | None:
        parent = self.get("facebook", post.in_reply_to) if post.in_reply_to else None
        if post.in_reply_to and parent is None:
            self.problems.append(f"{_describe(post)}: in_reply_to {post.in_reply_to} is not an earlier post")
            return None
        if parent is None:
            parent = latest_page_post(self.page_posts.get(page.page_id, []), post.created_at)
        if parent is None:
            self.problems.append(f"{_describe(post)}: page {page.page_id} has no post to comment on")
            return None
        return self.new_comment(parent, text=post.text, author_name=post.author,
                                author_id=facebook_user_id(post.author), created_at=post.created_at,
                                source=source, seq=seq, external_id=post.id)


def latest_page_post(own: Sequence[StoredPost], before: datetime) -> StoredPost | None:
    """The page's newest own post made at or before ``before`` (else its oldest): what a comment hangs on."""
    earlier = [p for p in own if p.created_at <= before]
    if earlier:
        return max(earlier, key=lambda p: p.created_at)
    return min(own, key=lambda p: p.created_at) if own else None


def make_comment(parent: StoredPost, lookup: Callable[[str], StoredPost | None], *, text: str, author_name: str,
                 author_id: str, created_at: datetime, number: int, source: Source, seq: int,
                 external_id: str | None = None) -> StoredPost:
    """A Graph comment on ``parent``. Replies to a reply attach to its top-level comment, as on Facebook."""
    if parent.kind == "comment" and parent.in_reply_to is not None:
        top = lookup(parent.in_reply_to)
        if top is not None and top.kind == "comment":
            parent = top
    root = parent.conversation_id
    post_number = root.split("_")[-1]
    return StoredPost(
        platform="facebook", external_id=external_id or f"{post_number}_{number}", kind="comment",
        text=text, author_name=author_name, author_id=author_id, account=parent.account,
        created_at=created_at, in_reply_to=parent.external_id, conversation_id=root,
        source=source, seq=seq,
    )


def build_store(scenario: Sequence[ScenarioPost], directory: Directory) -> PostStore:
    """The world's posts for a scenario, in release order (by created_at), plus seeded page posts.

    X ids grow with created_at (snowflakes) unless the scenario gives them; Graph ids are
    ``{page_id}_{n}`` for posts and ``{post_number}_{n}`` for comments. Raises ScenarioError for a
    post that addresses an unknown account or replies to a post that is not earlier in time.
    """
    store = PostStore(directory)
    ordered = sorted(scenario, key=lambda p: p.created_at)
    start = ordered[0].created_at if ordered else datetime.now(UTC)
    for page in directory.pages:
        if not any(p.platform == "facebook" and p.kind == "page_post" and directory.page(p.account) == page
                   for p in scenario):
            for index, text in enumerate(SEED_PAGE_POSTS):
                created_at = start - timedelta(days=1) + timedelta(hours=3 * index)
                store.page_post(page, text, created_at, kind="page_post", author=None,
                                scenario=None, seq=-1, source="seed")
    for seq, post in enumerate(ordered):
        store.add_scenario(post, seq, "scenario")
    if store.problems:
        raise ScenarioError(store.problems)
    return store
