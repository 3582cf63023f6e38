"""Scenario files: one platform post per JSONL line, validated all at once.

Fields: ``platform`` ("x", "twitter" or "facebook"), ``text``, ``author`` (X handle or Facebook display
name), ``created_at`` (ISO-8601 with a timezone), and optionally ``id``, ``lat``/``lon`` (both or
neither), ``place`` (a place name X shows as the post's place), ``in_reply_to`` (the ``id`` of an
earlier post), ``account`` (X username or Facebook page id the post addresses; default the first
configured account of that platform) and ``kind`` ("mention" on X; "comment", "tagged" or
"page_post" on Facebook). Unknown fields are ignored, so a scenario may carry expected labels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Platform = Literal["x", "facebook"]

PLATFORM_ALIASES: dict[str, Platform] = {"x": "x", "twitter": "x", "facebook": "facebook", "fb": "facebook"}
KINDS: dict[Platform, tuple[str, ...]] = {
    "x": ("mention",),
    "facebook": ("comment", "tagged", "page_post"),
}
DEFAULT_KIND: dict[Platform, str] = {"x": "mention", "facebook": "comment"}
REQUIRED_FIELDS = ("platform", "text", "author", "created_at")
_X_ID = re.compile(r"^[0-9]{1,19}$")


class ScenarioError(ValueError):
    """Every problem of a scenario file, one per line of the message."""

    def __init__(self, problems: Iterable[str], *, source: str = "scenario") -> None:
        self.problems = list(problems)
        super().__init__(f"{source}: {len(self.problems)} bad line(s)\n" + "\n".join(self.problems))


@dataclass(frozen=True)
class ScenarioPost:
    platform: Platform
    text: str
    author: str
    created_at: datetime
    id: str | None = None
    lat: float | None = None
    lon: float | None = None
    in_reply_to: str | None = None
    account: str | None = None
    kind: str = ""
    place: str | None = None

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", DEFAULT_KIND[self.platform])


def parse_created_at(value: object) -> datetime:
    """An aware UTC datetime from ISO-8601 text; a naive time is refused (which zone would it be?)."""
    if not isinstance(value, str):
        raise ValueError(f"created_at must be a string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"bad created_at {value!r} (want ISO-8601 like 2026-03-14T09:12:00+05:30)") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"created_at {value!r} has no timezone (add Z or +05:30)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59:59-05:00 is after the last UTC time Python holds
        raise ValueError(f"created_at {value!r} is out of range") from exc


def _optional_str(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key} must be a string, got {type(value).__name__}")
    return str(value)


def _coordinate(record: Mapping[str, Any], key: str, bound: float) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if not -bound <= float(value) <= bound:
        raise ValueError(f"{key} {value} is outside -{bound:g}..{bound:g}")
    return float(value)


def parse_post(record: object) -> ScenarioPost:
    """One scenario post from a decoded JSON line; ValueError says everything wrong with it."""
    if not isinstance(record, dict):
        raise ValueError(f"want a JSON object, got {type(record).__name__}")
    problems: list[str] = []
    missing = [key for key in REQUIRED_FIELDS if record.get(key) in (None, "")]
    if missing:
        problems.append("missing field(s) " + ", ".join(missing))
    platform: Platform | None = None
    raw_platform = record.get("platform")
    if raw_platform not in (None, ""):
        platform = PLATFORM_ALIASES.get(str(raw_platform).strip().lower())
        if platform is None:
            problems.append(f"unknown platform {raw_platform!r} (want x, twitter or facebook)")
    for key in ("text", "author"):
        if record.get(key) not in (None, "") and not isinstance(record[key], str):
            problems.append(f"{key} must be a string")
    created_at: datetime | None = None
    if record.get("created_at") not in (None, ""):
        try:
            created_at = parse_created_at(record["created_at"])
        except ValueError as exc:
            problems.append(str(exc))
    fields: dict[str, Any] = {}
    for key in ("id", "in_reply_to", "account", "kind", "place"):
        try:
            fields[key] = _optional_str(record, key)
        except ValueError as exc:
            problems.append(str(exc))
    try:
        fields["lat"] = _coordinate(record, "lat", 90.0)
        fields["lon"] = _coordinate(record, "lon", 180.0)
        if (fields["lat"] is None) != (fields["lon"] is None):
            problems.append("lat and lon go together: give both or neither")
    except ValueError as exc:
        problems.append(str(exc))
    if platform is not None:
        kind = fields.get("kind")
        if kind is not None and kind not in KINDS[platform]:
            problems.append(f"unknown kind {kind!r} for {platform} (want {', '.join(KINDS[platform])})")
        if platform == "x":
            for key in ("id", "in_reply_to"):
                value = fields.get(key)
                if value is not None and not _X_ID.match(value):
                    problems.append(f"X {key} {value!r} must be 1-19 digits")
    if problems:
        raise ValueError("; ".join(problems))
    assert platform is not None and created_at is not None
    return ScenarioPost(
        platform=platform,
        text=record["text"],
        author=record["author"].strip().lstrip("@") if platform == "x" else record["author"].strip(),
        created_at=created_at,
        id=fields["id"],
        lat=fields["lat"],
        lon=fields["lon"],
        in_reply_to=fields["in_reply_to"],
        account=fields["account"].lstrip("@") if fields["account"] else None,
        kind=fields["kind"] or "",
        place=fields["place"],
    )


def parse_scenario(lines: Iterable[str], *, source: str = "scenario") -> list[ScenarioPost]:
    """Posts of a JSONL text; raises one ScenarioError naming every bad line (blank lines are skipped)."""
    posts: list[ScenarioPost] = []
    problems: list[str] = []
    first_line_of_id: dict[tuple[str, str], int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            post = parse_post(record)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if post.in_reply_to is not None and (post.platform, post.in_reply_to) not in first_line_of_id:
            problems.append(f"line {number}: in_reply_to {post.in_reply_to!r} is not the id of an earlier line")
            continue
        if post.id is not None:
            key = (post.platform, post.id)
            if key in first_line_of_id:
                problems.append(f"line {number}: id {post.id!r} already used on line {first_line_of_id[key]}")
                continue
            first_line_of_id[key] = number
        posts.append(post)
    if problems:
        raise ScenarioError(problems, source=source)
    return posts


def load_scenario(path: str | Path) -> list[ScenarioPost]:
    """Posts of a JSONL scenario file, in file order."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        return parse_scenario(handle, source=str(path))
