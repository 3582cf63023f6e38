"""The shape of a post as an adapter read it from a platform, before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FetchedMention:
    """A post addressed to an account, as read from the platform, in the platform's own ids."""

    platform: str
    external_id: str
    text: str
    created_at: datetime
    author_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    lang: str | None = None
    lat: float | None = None
    lon: float | None = None
    place_name: str | None = None
    in_reply_to_id: str | None = None
    conversation_id: str | None = None
    permalink: str | None = None
    referenced_authors: tuple[str, ...] = ()
    is_own: bool = False  # written by the force's own account: never a complaint
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
