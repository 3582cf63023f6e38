"""A post's values cleaned to what its columns and both databases accept, before it is stored.

PostgreSQL text cannot hold a NUL byte; neither driver can encode half a surrogate pair (what a proxy that
cuts an emoji in two leaves behind); PostgreSQL refuses a string longer than its VARCHAR (SQLite keeps
it); PostgreSQL's JSON refuses NaN. Any of these in one post used to fail the insert of its whole page,
every cycle. Here each costs only itself, and says so in words that never quote the value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from models.tables import Mention

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")  # a str holds a pair as one code point: any left is half a pair
KEY = "external_id"  # cut, it would name another post: a row whose key does not fit is not stored
CUT_TO_FIT = frozenset({"author_name", "author_handle", "place_name"})  # prose: the start is still right
# Any other string that does not fit (an id, a link, a language code) is dropped: cut, it would be wrong.


def string_lengths(table: Any) -> dict[str, int]:
    """The length of each VARCHAR column of a SQLModel table (sqlmodel's AutoString carries one too)."""
    lengths = {column.name: getattr(column.type, "length", None) for column in sa.inspect(table).columns}
    return {name: length for name, length in lengths.items() if isinstance(length, int)}


MENTION_LENGTHS = string_lengths(Mention)


@dataclass(frozen=True)
class Cleaned:
    values: dict[str, Any] | None  # None: the row cannot be stored
    problems: tuple[str, ...]  # what was changed, column by column; never the value


def clean_mention(values: Mapping[str, Any], lengths: Mapping[str, int] = MENTION_LENGTHS) -> Cleaned:
    """``values`` with every string made storable and the coordinates checked; pure."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        if isinstance(value, str):
            value = _storable_text(name, value, problems)
            limit = lengths.get(name)
            if limit is not None and len(value) > limit:
                if name == KEY:
                    problems.append(f"{name} is longer than {limit} characters: not stored")
                    return Cleaned(None, tuple(problems))
                if name in CUT_TO_FIT:
                    value = value[:limit]
                    problems.append(f"{name} cut to {limit} characters")
                else:
                    value = None
                    problems.append(f"{name} longer than {limit} characters, left out")
        elif isinstance(value, dict | list):
            value = clean_json(value)
        out[name] = value
    if "lat" in out or "lon" in out:
        lat, lon = out.get("lat"), out.get("lon")
        if (lat, lon) != (None, None) and not is_on_the_globe(lat, lon):
            out["lat"] = out["lon"] = None
            problems.append("coordinates outside the globe, left out")
    return Cleaned(out, tuple(problems))


def is_on_the_globe(lat: Any, lon: Any) -> bool:
    """Both numbers, finite, latitude within ±90 and longitude within ±180."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (lat, lon)):
        return False
    return bool(abs(lat) <= 90 and abs(lon) <= 180)


def clean_json(value: Any) -> Any:
    """A JSON value both databases store: strings without NUL or half surrogates, no NaN or infinity."""
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value.replace("\x00", ""))
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {clean_json(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def _storable_text(name: str, value: str, problems: list[str]) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
        problems.append(f"{name}: NUL bytes removed")
    if _SURROGATE.search(value):
        value = _SURROGATE.sub(REPLACEMENT, value)
        problems.append(f"{name}: half a surrogate pair replaced")
    return value
