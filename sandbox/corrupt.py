"""The ``corrupt_item`` fault: one item of a page answered wrong, in the ways a real payload can be wrong.

The page is rendered as usual; then the item whose id is ``target`` (else the first item of the page:
on Graph's ``/feed`` the first comment, since the page's own posts only carry the comments) is changed
before the body is sent. Items without the field a corruption needs get one of the wrong shape.

=================  ===========================================  ===========================================
corruption         X API v2                                     Graph API
=================  ===========================================  ===========================================
from_string        the author's ``includes.users`` entry is     ``from`` is the author's name, a string
                   the username, a string
from_list          that entry is wrapped in a list              ``from`` is wrapped in a list
place_list         the tweet's ``includes.places`` entry is     ``place`` is a list
                   wrapped in a list
geo_list           ``geo`` is a list                            ``place.location`` is a list
bad_time           ``created_at`` is ``"yesterday"``            ``created_time`` is month 13, hour 25
null_text          ``text`` is null                             ``message`` is null
text_not_string    ``text`` is a list holding the text          ``message`` is a list holding the text
broken_unicode     ``text`` ends in half an emoji (a lone       ``message`` likewise
                   UTF-16 surrogate, escaped in the JSON)
nul_name           the author's ``name`` holds a NUL byte       ``from.name`` holds a NUL byte
long_name          the author's ``name`` is 5,000 characters    ``from.name`` likewise
bad_coordinates    the point is latitude 999, longitude NaN     ``place.location`` likewise
=================  ===========================================  ===========================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

CORRUPTIONS = (
    "from_string",
    "from_list",
    "place_list",
    "geo_list",
    "bad_time",
    "null_text",
    "text_not_string",
    "broken_unicode",
    "nul_name",
    "long_name",
    "bad_coordinates",
)
HALF_AN_EMOJI = "\ud83d"  # the first half of a surrogate pair, as a truncating proxy leaves it
LONG_NAME_CHARS = 5000
_PLACE: dict[str, Any] = {"name": "Koramangala", "location": {"city": "Bengaluru", "latitude": 12.9352, "longitude": 77.6245}}
_POINT = {"type": "Point", "coordinates": [77.6245, 12.9352]}


def corrupt_body(body: bytes, *, wire: str, corruption: str, target: str | None) -> bytes:
    """``body`` (a JSON answer of ``wire`` "x" or "facebook") with one item corrupted; unchanged when the
    answer holds no such item. Written with ASCII escapes, so a lone surrogate or NUL survives as JSON."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict):
        return body
    if wire == "x":
        changed = _corrupt_tweet(document, corruption, target)
    else:
        changed = _corrupt_graph_item(document, corruption, target)
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii") if changed else body


def _pick(items: Iterator[dict[str, Any]], target: str | None) -> dict[str, Any] | None:
    for item in items:
        if target is None or str(item.get("id")) == target:
            return item
    return None


# -- X API v2 -----------------------------------------------------------------------------------------------
def _corrupt_tweet(document: dict[str, Any], corruption: str, target: str | None) -> bool:
    data = document.get("data")
    tweets = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    tweet = _pick(iter(tweets), target)
    if tweet is None:
        return False
    includes = document.setdefault("includes", {})
    if corruption in ("from_string", "from_list", "nul_name", "long_name"):
        users = includes.setdefault("users", [])
        index = _entry(users, tweet.get("author_id"), {"id": tweet.get("author_id"), "name": "", "username": "x"})
        user = users[index]
        if corruption == "from_string":
            users[index] = user.get("username", "")
        elif corruption == "from_list":
            users[index] = [user]
        else:
            user["name"] = _bad_name(str(user.get("name", "")), corruption)
    elif corruption == "place_list":
        geo = tweet.setdefault("geo", {"place_id": "01a9a39529b27f36"})
        places = includes.setdefault("places", [])
        index = _entry(places, geo.get("place_id"), {"id": geo.get("place_id"), "full_name": "Koramangala, Bengaluru"})
        places[index] = [places[index]]
    elif corruption == "geo_list":
        tweet["geo"] = [tweet.get("geo") or {"coordinates": _POINT}]
    elif corruption == "bad_coordinates":
        geo = tweet.setdefault("geo", {})
        geo["coordinates"] = {"type": "Point", "coordinates": [float("nan"), 999.0]}  # lon, lat
    elif corruption == "bad_time":
        tweet["created_at"] = "yesterday"
    else:
        tweet["text"] = _bad_text(tweet.get("text"), corruption)
    return True


def _entry(entries: list[Any], entry_id: Any, default: dict[str, Any]) -> int:
    """The index of the include with ``entry_id``, appended from ``default`` when there is none."""
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("id") == entry_id:
            return index
    entries.append(default)
    return len(entries) - 1


# -- Graph API ----------------------------------------------------------------------------------------------
def _graph_items(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of the answer, nested comments included; a post carrying a ``comments`` edge (the page's own
    post in ``/feed``) is a container, not an item."""
    data = document.get("data")
    if not isinstance(data, list):
        if "id" in document:
            yield document
        return
    for item in data:
        if not isinstance(item, dict):
            continue
        edge = item.get("comments")
        if isinstance(edge, dict):
            yield from _graph_items(edge)
        else:
            yield item


def _corrupt_graph_item(document: dict[str, Any], corruption: str, target: str | None) -> bool:
    item = _pick(_graph_items(document), target)
    if item is None:
        return False
    author: dict[str, Any] = item["from"] if isinstance(item.get("from"), dict) else {"id": "0", "name": ""}
    if corruption == "from_string":
        item["from"] = author.get("name", "")
    elif corruption == "from_list":
        item["from"] = [author]
    elif corruption in ("nul_name", "long_name"):
        item["from"] = {**author, "name": _bad_name(str(author.get("name", "")), corruption)}
    elif corruption == "place_list":
        item["place"] = [item.get("place") or _PLACE]
    elif corruption in ("geo_list", "bad_coordinates"):
        place: dict[str, Any] = item["place"] if isinstance(item.get("place"), dict) else dict(_PLACE)
        location: dict[str, Any] = place["location"] if isinstance(place.get("location"), dict) else {}
        if corruption == "geo_list":
            place["location"] = [location]
        else:
            place["location"] = {**location, "latitude": 999.0, "longitude": float("nan")}
        item["place"] = place
    elif corruption == "bad_time":
        item["created_time"] = "2026-13-45T25:61:00+0000"
    else:
        item["message"] = _bad_text(item.get("message"), corruption)
    return True


# -- shared -------------------------------------------------------------------------------------------------
def _bad_name(name: str, corruption: str) -> str:
    if corruption == "nul_name":
        half = len(name) // 2
        return name[:half] + "\x00" + name[half:]
    return (name + " ") * (LONG_NAME_CHARS // (len(name) + 1) + 1)


def _bad_text(text: Any, corruption: str) -> Any:
    if corruption == "null_text":
        return None
    if corruption == "text_not_string":
        return [text]
    return f"{text or ''}{HALF_AN_EMOJI}"
