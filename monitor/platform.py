"""The seam between the bot and a social platform, and the small tree of errors every adapter raises.

An adapter turns each transport failure into one of these, so the poller decides what to do from the
class alone: wait out a rate limit, back off on an outage, flag the account on a rejected token, and
skip a payload it cannot read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from models.posts import FetchedMention


class PlatformError(Exception):
    """A platform call failed; the message is safe to log (no token, no header)."""


class AuthFailed(PlatformError):
    """The platform rejected the credentials (expired, revoked, or missing a permission)."""


class RateLimited(PlatformError):
    """The budget for this endpoint is spent until ``reset_at``."""

    def __init__(self, message: str, reset_at: datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class PlatformUnavailable(PlatformError):
    """5xx, timeout or connection failure: worth retrying later."""


class BadPayload(PlatformError):
    """The platform answered with something that cannot be read (malformed JSON, missing fields)."""


@dataclass(frozen=True)
class Page:
    """One page of a fetch, oldest first.

    The last page carries ``cursor``, the position after everything fetched. Earlier pages may carry
    ``resume``, an opaque marker that lets the next fetch continue a partly read range.
    """

    mentions: list[FetchedMention]
    cursor: str | None = None
    is_last: bool = False
    resume: str | None = None


@dataclass(frozen=True)
class RateBudget:
    remaining: int | None
    reset_at: datetime | None


class Platform(Protocol):
    """One account on one platform.

    ``fetch`` yields pages of everything newer than ``cursor`` (None: as far back as the platform
    allows), continuing from ``resume`` when a previous fetch stopped part-way, and marks the last
    page; it raises a :class:`PlatformError` subclass on failure, possibly after some pages were
    yielded. ``post_reply`` answers a post in its thread and returns the new
    post's id; ``find_reply`` looks in the thread for a reply of ours containing ``marker`` (used after
    a crash so a reply is never posted twice).
    """

    platform: str
    key: str
    label: str
    own_user_id: str

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]: ...

    def post_reply(self, in_reply_to: str, text: str) -> str: ...

    def find_reply(self, in_reply_to: str, marker: str) -> str | None: ...

    def rate_budget(self) -> RateBudget: ...
