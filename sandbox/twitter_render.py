"""X API v2 objects (tweets, users, places) as the API renders them: only the fields asked for.

``id``, ``text`` and ``edit_history_tweet_ids`` are always present on a tweet, ``id``, ``name`` and
``username`` on a user, ``id`` and ``full_name`` on a place; everything else only when requested
through ``tweet.fields`` / ``user.fields`` / ``place.fields``, and includes only through
``expansions``. Fields with no value (a non-reply's ``in_reply_to_user_id``) are left out, as X does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.config import GeoCity
from sandbox.ids import place_id, x_time
from sandbox.posts import StoredPost

_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_URL = re.compile(r"https?://\S+")


def _split(value: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class TweetQuery:
    tweet_fields: frozenset[str]
    expansions: frozenset[str]
    user_fields: frozenset[str]
    place_fields: frozenset[str]

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> TweetQuery:
        return cls(_split(query.get("tweet.fields")), _split(query.get("expansions")),
                   _split(query.get("user.fields")), _split(query.get("place.fields")))


@dataclass(frozen=True)
class XUser:
    id: str
    username: str
    name: str


def guess_lang(text: str) -> str:
    """X's ``lang`` by script: Kannada, Devanagari (Hindi), else English; "zxx" for no words."""
    if any("\u0c80" <= ch <= "\u0cff" for ch in text):
        return "kn"
    if any("\u0900" <= ch <= "\u097f" for ch in text):
        return "hi"
    if not any(ch.isalpha() for ch in _URL.sub("", _MENTION.sub("", text))):
        return "zxx"
    return "en"


def entities(text: str, user_id_of: Callable[[str], str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    mentions = [{"start": m.start(), "end": m.end(), "username": m.group(1), "id": user_id_of(m.group(1))}
                for m in _MENTION.finditer(text)]
    hashtags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)]
    urls = [{"start": m.start(), "end": m.end(), "url": m.group(0), "expanded_url": m.group(0),
             "display_url": m.group(0).split("://", 1)[1][:30]} for m in _URL.finditer(text)]
    for key, items in (("mentions", mentions), ("hashtags", hashtags), ("urls", urls)):
        if items:
            found[key] = items
    return found


def place_of(post: StoredPost, city: GeoCity) -> dict[str, Any] | None:
    """The X place of a geotagged post: its named place, else the city."""
    if post.lat is None or post.lon is None:
        return None
    if post.place:
        full_name = f"{post.place}, {city.name}"
        bbox = [round(post.lon - 0.01, 6), round(post.lat - 0.01, 6),
                round(post.lon + 0.01, 6), round(post.lat + 0.01, 6)]
        name, place_type = post.place, "neighborhood"
    else:
        full_name = f"{city.name}, {city.country}"
        bbox = list(city.bbox)
        name, place_type = city.name, "city"
    return {
        "id": place_id(full_name), "full_name": full_name, "name": name, "place_type": place_type,
        "country": city.country, "country_code": city.country_code, "contained_within": [],
        "geo": {"type": "Feature", "bbox": bbox, "properties": {}},
    }


def render_place(place: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in place.items() if k in ("id", "full_name") or k in fields}


def render_user(user: XUser, fields: frozenset[str]) -> dict[str, Any]:
    rendered: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
    extras = {"protected": False, "verified": False, "description": "", "created_at": "2015-01-01T00:00:00.000Z"}
    rendered.update({k: v for k, v in extras.items() if k in fields})
    return rendered


# An expansion brings the field it expands into the tweet even when tweet.fields does not ask for it.
_IMPLIED_BY_EXPANSION = {"author_id": "author_id", "in_reply_to_user_id": "in_reply_to_user_id",
                         "referenced_tweets.id": "referenced_tweets"}


def render_tweet(post: StoredPost, query: TweetQuery, parent: StoredPost | None,
                 user_id_of: Callable[[str], str], city: GeoCity) -> dict[str, Any]:
    wanted = query.tweet_fields | {f for e, f in _IMPLIED_BY_EXPANSION.items() if e in query.expansions}
    tweet: dict[str, Any] = {"edit_history_tweet_ids": [post.external_id], "id": post.external_id,
                             "text": post.text}
    optional: dict[str, Any] = {
        "author_id": post.author_id,
        "conversation_id": post.conversation_id,
        "created_at": x_time(post.created_at),
        "lang": guess_lang(post.text),
        "possibly_sensitive": False,
        "reply_settings": "everyone",
        "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                           "bookmark_count": 0, "impression_count": 0},
    }
    if parent is not None:
        optional["in_reply_to_user_id"] = parent.author_id
        optional["referenced_tweets"] = [{"type": "replied_to", "id": parent.external_id}]
    place = place_of(post, city)
    if place is not None:
        optional["geo"] = {"coordinates": {"type": "Point", "coordinates": [post.lon, post.lat]},
                           "place_id": place["id"]}
    found = entities(post.text, user_id_of)
    if found:
        optional["entities"] = found
    tweet.update({k: v for k, v in optional.items() if k in wanted})
    if place is not None and "geo" not in wanted and "geo.place_id" in query.expansions:
        tweet["geo"] = {"place_id": place["id"]}
    return tweet


def render_tweets(posts: Sequence[StoredPost], query: TweetQuery, *, lookup: Callable[[str], StoredPost | None],
                  user_of: Callable[[str, str], XUser], user_id_of: Callable[[str], str],
                  city: GeoCity) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``data`` and ``includes`` for a list of posts (includes left empty when nothing was expanded)."""
    data: list[dict[str, Any]] = []
    users: dict[str, XUser] = {}
    places: dict[str, dict[str, Any]] = {}
    referenced: dict[str, dict[str, Any]] = {}
    wants = query.expansions
    for post in posts:
        parent = lookup(post.in_reply_to) if post.in_reply_to else None
        data.append(render_tweet(post, query, parent, user_id_of, city))
        if "author_id" in wants:
            users.setdefault(post.author_id, user_of(post.author_id, post.author_name))
        if parent is not None and "in_reply_to_user_id" in wants:
            users.setdefault(parent.author_id, user_of(parent.author_id, parent.author_name))
        if parent is not None and "referenced_tweets.id" in wants:
            grandparent = lookup(parent.in_reply_to) if parent.in_reply_to else None
            referenced.setdefault(parent.external_id,
                                  render_tweet(parent, query, grandparent, user_id_of, city))
            if "referenced_tweets.id.author_id" in wants:
                users.setdefault(parent.author_id, user_of(parent.author_id, parent.author_name))
        if "entities.mentions.username" in wants:
            for mention in _MENTION.finditer(post.text):
                user_id = user_id_of(mention.group(1))
                users.setdefault(user_id, user_of(user_id, mention.group(1)))
        place = place_of(post, city)
        if place is not None and "geo.place_id" in wants:
            places.setdefault(place["id"], render_place(place, query.place_fields))
    includes: dict[str, Any] = {}
    if users:
        includes["users"] = [render_user(u, query.user_fields) for u in users.values()]
    if places:
        includes["places"] = list(places.values())
    if referenced:
        includes["tweets"] = list(referenced.values())
    return data, includes
