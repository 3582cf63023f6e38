"""Identifiers, cursors and timestamps in the shapes the real platforms use."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime

TWITTER_EPOCH_MS = 1288834974657


def snowflake_at(created_at: datetime, sequence: int = 0) -> int:
    """An X id for a post made at ``created_at``: (ms since the X epoch) << 22 | sequence."""
    millis = int(created_at.timestamp() * 1000) - TWITTER_EPOCH_MS
    return (max(millis, 0) << 22) | (sequence & 0x3FFFFF)


def stable_number(text: str, digits: int) -> str:
    """A decimal id of exactly ``digits`` digits derived from ``text`` (same text, same id)."""
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:12], "big")
    low = 10 ** (digits - 1)
    return str(low + value % (9 * low))


def x_user_id(username: str) -> str:
    return stable_number("x-user:" + username.lower(), 18)


def facebook_user_id(name: str) -> str:
    return stable_number("fb-user:" + name, 16)


def place_id(name: str) -> str:
    """X place ids are 16 hex digits, e.g. ``f7eb2fa2fea288b1``."""
    return hashlib.sha256(("place:" + name.lower()).encode("utf-8")).hexdigest()[:16]


def fbtrace_id(seed: int) -> str:
    return base64.b64encode(hashlib.sha256(f"trace:{seed}".encode()).digest()[:9]).decode("ascii")


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode_x_token(tweet_id: int) -> str:
    """An X pagination token (lower-case base 36, like ``7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j``)."""
    value = tweet_id * 7919 + 1
    digits = []
    while value:
        value, rest = divmod(value, 36)
        digits.append(_BASE36[rest])
    return "7140dib" + "".join(reversed(digits))


def decode_x_token(token: str) -> int | None:
    if not token.startswith("7140dib") or len(token) < 8:
        return None
    value = 0
    for char in token[7:]:
        index = _BASE36.find(char)
        if index < 0:
            return None
        value = value * 36 + index
    tweet_id, rest = divmod(value - 1, 7919)
    return tweet_id if rest == 0 else None


def encode_cursor(object_id: str) -> str:
    """A Graph cursor (base64 text, opaque to clients) that points at one object of a list."""
    return base64.b64encode(("sbx:" + object_id).encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str) -> str | None:
    try:
        raw = base64.b64decode(cursor.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    return raw[4:] if raw.startswith("sbx:") else None


def x_time(moment: datetime) -> str:
    """X v2 timestamps: ``2022-10-08T01:18:35.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def graph_time(moment: datetime) -> str:
    """Graph timestamps: ``2021-08-10T18:45:03+0000``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_graph_time(value: str) -> datetime | None:
    """A ``since``/``until`` value: Unix seconds or ISO-8601 text (naive means UTC, as on Graph)."""
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_x_time(value: str) -> datetime | None:
    """An X ``start_time``/``end_time`` (RFC 3339, ``YYYY-MM-DDTHH:mm:ssZ``)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if parsed.tzinfo is None else parsed.astimezone(UTC)
