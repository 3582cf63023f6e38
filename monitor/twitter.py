"""The X (Twitter) adapter, on tweepy's ``Client`` (X API v2).

Quirks this handles: the mentions timeline is newest first and paginates backwards with
``pagination_token``; ``meta.newest_id`` is the position to resume from once every page is read;
tweepy raises on 429 but never looks at ``x-rate-limit-remaining``, so the adapter reads the headers
itself and stops before it would be refused. ``resume`` carries a partly read range across cycles
(``until_id`` of the oldest post read, and the newest id of the range) so a spent budget mid-range
neither loses nor re-reads posts.

The client answers plain JSON (``return_type=dict``): tweepy's own models parse every tweet and
include of a page up front, so one tweet with a bad ``created_at`` or one user object that is not an
object used to fail the whole page. Each tweet is read on its own instead (``monitor.payload``): one
that cannot be read is logged by its id and skipped, and ``meta.newest_id`` still moves the cursor past
it. A bad include costs only what it adds (the author's handle and name, the place's name).

A refused reply is told apart by the text X puts in its problem body (X answers every refusal 403 with
``title`` "Forbidden"; the text is the only difference): a deleted or invisible parent, a post whose
author did not mention or quote the account (X's reply rule since February 2026) and duplicate text.
Any other 403 is a token without the permission (``AuthFailed``).
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
import tweepy

from models.posts import FetchedMention
from monitor.payload import Fields, ItemReader, Skipped, printable_id, shape
from monitor.platform import (
    AuthFailed,
    BadPayload,
    DuplicateContent,
    Page,
    ParentDeleted,
    PlatformError,
    PlatformUnavailable,
    RateBudget,
    RateLimited,
    ReplyNotAllowed,
)
from monitor.ratelimit import HeaderWatch, x_budget
from monitor.settings import XAccount
from monitor.transport import point_session_at

logger = logging.getLogger(__name__)

TWEET_FIELDS = [
    "created_at",
    "lang",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "geo",
    "author_id",
    "entities",
]
EXPANSIONS = ["author_id", "geo.place_id", "referenced_tweets.id.author_id"]
USER_FIELDS = ["username", "name"]
PLACE_FIELDS = ["full_name", "geo", "country_code", "place_type"]
TWEET_ID = re.compile(r"^[0-9]{1,19}$")
TIMELINE_PAGES = 32  # 32 pages of 100: the 3,200 newest posts, as far back as a user timeline reaches
# What X writes in the body of a refused POST /2/tweets (403; a deleted parent has also been seen as
# 400), lower-cased, and what it means here.
REFUSALS: tuple[tuple[str, type[PlatformError]], ...] = (
    ("deleted or not visible to you", ParentDeleted),
    ("reply to this conversation is not allowed", ReplyNotAllowed),
    ("not been mentioned or otherwise engaged", ReplyNotAllowed),
    ("duplicate content", DuplicateContent),
    ("text is too long", BadPayload),
)


class TwitterPlatform:
    platform = "x"

    def __init__(
        self,
        account: XAccount,
        *,
        max_results: int = 100,
        timeout_s: float = 20.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.key = account.key
        self.label = account.label
        self.own_user_id = account.user_id
        self._max_results = max_results
        self._now = now

        def reveal(secret: Any) -> str | None:
            return secret.reveal() if secret is not None else None

        self._client = tweepy.Client(
            bearer_token=account.bearer_token.reveal(),
            consumer_key=reveal(account.consumer_key),
            consumer_secret=reveal(account.consumer_secret),
            access_token=reveal(account.access_token),
            access_token_secret=reveal(account.access_token_secret),
            wait_on_rate_limit=False,
            return_type=dict,
        )
        self._can_post = account.access_token is not None
        point_session_at(self._client.session, account.api_base_url, timeout_s=timeout_s)
        self._watch = HeaderWatch()
        self._watch.attach(self._client.session)
        self._items = ItemReader(self.label)

    def rate_budget(self) -> RateBudget:
        return x_budget(self._watch.headers)

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]:
        state = _Resume.parse(resume)
        pagination_token: str | None = None
        newest_id = state.newest_id
        tokens_seen: set[str] = set()
        while True:
            response = self._call(
                "mentions",
                partial(
                    self._client.get_users_mentions,
                    self.own_user_id,
                    since_id=cursor,
                    until_id=state.until_id,
                    pagination_token=pagination_token,
                    max_results=self._max_results,
                    expansions=EXPANSIONS,
                    tweet_fields=TWEET_FIELDS,
                    user_fields=USER_FIELDS,
                    place_fields=PLACE_FIELDS,
                ),
            )
            meta, tweets, includes = self._page(response)
            read = [self._items.read(t, "tweet", partial(self._to_mention, includes=includes)) for t in tweets]
            mentions = [m for m in read if isinstance(m, FetchedMention)]
            mentions.reverse()  # oldest first
            newest_id = newest_id or _page_end(meta, "newest_id", read, max)
            next_token = meta.get("next_token")
            if not next_token:
                yield Page(mentions, cursor=newest_id or cursor, is_last=True)
                return
            oldest = _page_end(meta, "oldest_id", read, min)
            progress = _Resume(until_id=oldest, newest_id=newest_id).dump()
            yield Page(mentions, resume=progress)
            budget = self.rate_budget()
            if budget.remaining is not None and budget.remaining <= 0:
                reset_at = budget.reset_at or self._now() + timedelta(minutes=15)
                raise RateLimited(f"{self.label}: mentions budget spent mid-range", reset_at)
            if next_token in tokens_seen:  # the same page again and again would never end
                raise BadPayload(f"{self.label}: mentions answered a next_token it had given before")
            tokens_seen.add(next_token)
            pagination_token = next_token

    def post_reply(self, in_reply_to: str, text: str) -> str:
        if not self._can_post:
            raise AuthFailed(f"{self.label}: no user-context token configured, cannot post replies")
        response = self._call(
            "reply",
            lambda: self._client.create_tweet(text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True),
        )
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, dict) or not TWEET_ID.match(str(data.get("id"))):
            raise BadPayload(f"{self.label}: reply answered without a readable id")
        return str(data["id"])

    def find_reply(self, in_reply_to: str, marker: str) -> str | None:
        """Our reply to ``in_reply_to`` whose text holds ``marker``, read from the account's own timeline
        (``GET /2/users/:id/tweets``) newer than the post answered.

        The timeline rather than recent search: the timeline shows a post the moment it is made, while
        search indexes with a delay, so a reply posted just before a crash could be missing from search
        and posted a second time. Reads at most the 3,200 newest posts (as far as the timeline reaches).
        """
        token: str | None = None
        for _ in range(TIMELINE_PAGES):
            response = self._call(
                "own timeline",
                partial(
                    self._client.get_users_tweets,
                    self.own_user_id,
                    since_id=in_reply_to,
                    max_results=100,
                    pagination_token=token,
                    tweet_fields=["referenced_tweets", "conversation_id"],
                    user_auth=self._can_post,
                ),
            )
            meta, tweets, _ = self._page(response)
            for tweet in tweets:
                if _is_reply_with(tweet, in_reply_to, marker):
                    return str(tweet["id"])
            token = meta.get("next_token")
            if not token:
                return None
        return None

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        """Run one tweepy call and turn every way it can fail into the platform error tree."""
        self._watch.reset()
        try:
            response = call()
        except tweepy.TooManyRequests as exc:
            reset = exc.reset_time if getattr(exc, "reset_time", None) else None
            reset_at = datetime.fromtimestamp(reset, UTC) if reset else self._now() + timedelta(minutes=15)
            raise RateLimited(f"{self.label}: {what} answered 429 until {reset_at:%H:%M:%S}Z", reset_at) from exc
        except tweepy.Unauthorized as exc:
            raise AuthFailed(f"{self.label}: {what} answered 401: the token was rejected (expired or revoked)") from exc
        except (tweepy.Forbidden, tweepy.BadRequest) as exc:
            detail = _detail(exc)
            refusal = next((kind for text, kind in REFUSALS if text in detail.lower()), None)
            if refusal is not None:
                raise refusal(f"{self.label}: {what} refused ({exc.response.status_code}): {detail}") from exc
            if isinstance(exc, tweepy.Forbidden):
                raise AuthFailed(f"{self.label}: {what} answered 403: {detail}") from exc
            raise BadPayload(f"{self.label}: {what} answered 400: {detail}") from exc
        except tweepy.TwitterServerError as exc:
            raise PlatformUnavailable(f"{self.label}: {what} answered {exc.response.status_code}") from exc
        except tweepy.HTTPException as exc:
            raise BadPayload(f"{self.label}: {what} answered {exc.response.status_code}: {_detail(exc)}") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise PlatformUnavailable(f"{self.label}: {what} failed: {type(exc).__name__}") from exc
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # JSONDecodeError is a ValueError; RecursionError: nested too deep
            raise BadPayload(f"{self.label}: {what} returned an unreadable body ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise PlatformError(f"{self.label}: {what} failed: {type(exc).__name__}") from exc
        logger.info("%s: %s ok (%s left)", self.label, what, self._watch.headers.get("x-rate-limit-remaining", "?"))
        return response

    def _page(self, response: Any) -> tuple[dict[str, Any], list[Any], _Includes]:
        """The meta, the tweets and the includes of one answer (mentions, own timeline); a container of
        the wrong shape is a BadPayload (nothing is skipped past a page that could not be read)."""
        if not isinstance(response, dict):
            raise BadPayload(f"{self.label}: a timeline answered {shape(response)}, not an object")
        meta, tweets = response.get("meta", {}), response.get("data", [])
        if not isinstance(meta, dict) or not isinstance(tweets, list):
            raise BadPayload(f"{self.label}: a timeline answered a page without readable data and meta")
        if not isinstance(meta.get("next_token", ""), str):
            raise BadPayload(f"{self.label}: a timeline answered an unreadable next_token")
        return meta, tweets, _Includes.read(response.get("includes"), self._items)

    def _to_mention(self, data: dict[str, Any], fields: Fields, *, includes: _Includes) -> FetchedMention:
        """One tweet. ``author_id`` is needed when present: it alone tells the account's own post."""
        external_id = fields.ident(data.get("id"), "id", needed=True, pattern=TWEET_ID)
        assert external_id is not None  # needed
        created_at = fields.time(data.get("created_at"), "created_at", _parse_time)
        author_id = fields.ident(data.get("author_id"), "author_id", needed=True, pattern=TWEET_ID)
        author = includes.users.get(author_id or "", {})
        handle = fields.string(author.get("username"), "author's username")
        geo = fields.obj(data.get("geo"), "geo")
        lon, lat = _point(fields, fields.obj(geo.get("coordinates"), "geo.coordinates").get("coordinates"))
        place = includes.places.get(fields.ident(geo.get("place_id"), "geo.place_id") or "", {})
        if lat is None and place:
            lon, lat = _centre(fields, fields.obj(place.get("geo"), "place.geo").get("bbox"))
        referenced = [r for r in fields.items(data.get("referenced_tweets"), "referenced_tweets") if isinstance(r, dict)]
        replied_to = next((r.get("id") for r in referenced if r.get("type") == "replied_to"), None)
        ref_authors = []
        for ref in referenced:
            ref_tweet = includes.tweets.get(str(ref.get("id")), {})
            ref_author = includes.users.get(str(ref_tweet.get("author_id")), {}).get("username")
            if isinstance(ref_author, str):
                ref_authors.append(ref_author)
        return FetchedMention(
            platform="x",
            external_id=external_id,
            text=fields.text(data.get("text"), "text"),
            created_at=created_at,
            author_id=author_id,
            author_handle=handle,
            author_name=fields.string(author.get("name"), "author's name"),
            lang=fields.string(data.get("lang"), "lang"),
            lat=lat,
            lon=lon,
            place_name=fields.string(place.get("full_name"), "place.full_name"),
            in_reply_to_id=fields.ident(replied_to, "referenced_tweets.id", pattern=TWEET_ID),
            conversation_id=fields.ident(data.get("conversation_id"), "conversation_id", pattern=TWEET_ID),
            permalink=f"https://x.com/{handle or 'i'}/status/{external_id}",
            referenced_authors=tuple(ref_authors),
            is_own=author_id == self.own_user_id,
            raw=data,
        )


@dataclass(frozen=True)
class _Includes:
    """A page's expanded objects by id; an entry that is not an object is left out (and logged once)."""

    users: dict[str, dict[str, Any]]
    places: dict[str, dict[str, Any]]
    tweets: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, includes: Any, items: ItemReader) -> _Includes:
        if not isinstance(includes, dict):
            if includes is not None:
                items.report(f"includes is {shape(includes)}, not an object; left out")
            includes = {}
        return cls(*(_by_id(includes.get(name), name, items) for name in ("users", "places", "tweets")))


def _by_id(entries: Any, name: str, items: ItemReader) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if not isinstance(entries, list):
        if entries is not None:
            items.report(f"includes.{name} is {shape(entries)}, not a list; left out")
        return found
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or printable_id(entry.get("id")) != str(entry.get("id")):
            items.report(f"includes.{name}[{index}] is {shape(entry)} without a readable id; left out")
            continue
        found[str(entry["id"])] = entry
    return found


def _numbers(fields: Fields, value: Any, name: str, count: int) -> list[float] | None:
    """``count`` numbers, or None (and a note when something of the wrong shape was there)."""
    if value is None:
        return None
    numbers = [n for n in (fields.number(v, name) for v in fields.items(value, name)) if n is not None]
    if len(numbers) != count:
        fields.left_out.append(f"{name} is not {count} numbers; left out")
        return None
    return numbers


def _point(fields: Fields, value: Any) -> tuple[float | None, float | None]:
    """``[lon, lat]`` of a GeoJSON point, or (None, None)."""
    numbers = _numbers(fields, value, "geo.coordinates.coordinates", 2)
    return (numbers[0], numbers[1]) if numbers else (None, None)


def _centre(fields: Fields, value: Any) -> tuple[float | None, float | None]:
    """The centre of a place's ``[west, south, east, north]`` box, or (None, None)."""
    numbers = _numbers(fields, value, "place.geo.bbox", 4)
    if not numbers:
        return None, None
    west, south, east, north = numbers
    return (west + east) / 2, (south + north) / 2


def _page_end(
    meta: dict[str, Any], key: str, read: list[FetchedMention | Skipped], pick: Callable[..., str | None]
) -> str | None:
    """``meta[key]`` (newest_id, oldest_id), or when that is unreadable the ``pick`` (max, min) of the
    page's item ids, skipped items included: the cursor moves past those too."""
    value = meta.get(key)
    if isinstance(value, str) and TWEET_ID.match(value):
        return value
    ids = [r.external_id if isinstance(r, FetchedMention) else r.item_id for r in read]
    return pick((i for i in ids if TWEET_ID.match(i)), key=int, default=None)


def _is_reply_with(tweet: Any, in_reply_to: str, marker: str) -> bool:
    """Whether ``tweet`` replies to ``in_reply_to`` and holds ``marker`` (X escapes &, < and > in text)."""
    if not isinstance(tweet, dict) or not isinstance(tweet.get("text"), str):
        return False
    if not TWEET_ID.match(str(tweet.get("id"))):
        return False
    referenced = tweet.get("referenced_tweets")
    references = referenced if isinstance(referenced, list) else []
    replied_to = [r.get("id") for r in references if isinstance(r, dict) and r.get("type") == "replied_to"]
    return in_reply_to in replied_to and marker in html.unescape(tweet["text"])


def _parse_time(value: str) -> datetime:
    """X writes ``2026-11-20T09:30:00.000Z``."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("created_at without a timezone")
    return parsed.astimezone(UTC)


class _Resume:
    """Where a partly read range stopped: read older than ``until_id`` next, then jump to ``newest_id``."""

    def __init__(self, until_id: str | None = None, newest_id: str | None = None) -> None:
        self.until_id = until_id
        self.newest_id = newest_id

    @classmethod
    def parse(cls, text: str | None) -> _Resume:
        if not text:
            return cls()
        try:
            value = json.loads(text)
            return cls(value.get("until_id"), value.get("newest_id"))
        except (ValueError, AttributeError):
            logger.warning("ignoring an unreadable resume marker %r", text[:80])
            return cls()

    def dump(self) -> str:
        return json.dumps({"until_id": self.until_id, "newest_id": self.newest_id})


def _detail(exc: tweepy.HTTPException) -> str:
    messages = list(getattr(exc, "api_messages", []) or [])
    return "; ".join(str(m) for m in messages)[:200] or exc.response.reason or "error"
