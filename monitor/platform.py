"""The seam between the bot and a social platform, and the small tree of errors every adapter raises.

An adapter turns each transport failure into one of these, so the poller decides what to do from the
class alone: wait out a rate limit, back off on an outage, flag the account on a rejected token, and
skip a payload it cannot read. Posting a reply adds three refusals, each permanent for that reply:
:class:`ReplyNotAllowed`, :class:`ParentDeleted` and :class:`DuplicateContent`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

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


class ReplyNotAllowed(PlatformError):
    """The platform refuses this reply for good: X's 403 for a post whose author did not @-mention or
    quote the account; Graph's one private reply per comment, within 7 days of it."""


class ParentDeleted(PlatformError):
    """The post answered is gone or not visible to the account (X: deleted or not visible; Graph: code 100
    subcode 33 on the object)."""


class DuplicateContent(PlatformError):
    """X refused the text as a duplicate of a post the account already made: possibly this very reply,
    posted before a crash (look it up with ``find_reply``)."""


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
    yielded. ``post_reply`` answers a post in its thread and returns the new post's id, or raises one
    of the reply refusals (:class:`ReplyNotAllowed`, :class:`ParentDeleted`, :class:`DuplicateContent`)
    or the transport errors; ``find_reply`` returns the id of a reply of ours to ``in_reply_to`` whose
    text contains ``marker``, or None (used after a crash so a reply is never posted twice).
    """

    platform: str
    key: str
    label: str
    own_user_id: str

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]: ...

    def post_reply(self, in_reply_to: str, text: str) -> str: ...

    def find_reply(self, in_reply_to: str, marker: str) -> str | None: ...

    def rate_budget(self) -> RateBudget: ...


@runtime_checkable
class PrivateReplies(Protocol):
    """A platform that can also answer a comment with a private message (Facebook)."""

    def post_private_reply(self, comment_id: str, text: str) -> str: ...
