"""The X (Twitter) adapter, on tweepy's ``Client`` (X API v2).

Quirks this handles: the mentions timeline is newest first and paginates backwards with
``pagination_token``; ``meta.newest_id`` is the position to resume from once every page is read;
tweepy raises on 429 but never looks at ``x-rate-limit-remaining``, so the adapter reads the headers
itself and stops before it would be refused. ``resume`` carries a partly read range across cycles
(``until_id`` of the oldest post read, and the newest id of the range) so a spent budget mid-range
neither loses nor re-reads posts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
import tweepy

from models.posts import FetchedMention
from monitor.platform import (
    AuthFailed,
    BadPayload,
    Page,
    PlatformError,
    PlatformUnavailable,
    RateBudget,
    RateLimited,
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
        )
        self._can_post = account.access_token is not None
        point_session_at(self._client.session, account.api_base_url, timeout_s=timeout_s)
        self._watch = HeaderWatch()
        self._watch.attach(self._client.session)

    def rate_budget(self) -> RateBudget:
        return x_budget(self._watch.headers)

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]:
        state = _Resume.parse(resume)
        pagination_token: str | None = None
        newest_id = state.newest_id
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
            meta = response.meta or {}
            newest_id = newest_id or meta.get("newest_id")
            includes = response.includes or {}
            mentions = _readable(
                self.label, (partial(self._to_mention, t, includes) for t in response.data or [])
            )
            mentions.reverse()  # oldest first
            next_token = meta.get("next_token")
            if not next_token:
                yield Page(mentions, cursor=newest_id or cursor, is_last=True)
                return
            oldest = meta.get("oldest_id") or (mentions[0].external_id if mentions else None)
            progress = _Resume(until_id=oldest, newest_id=newest_id).dump()
            yield Page(mentions, resume=progress)
            budget = self.rate_budget()
            if budget.remaining is not None and budget.remaining <= 0:
                reset_at = budget.reset_at or self._now() + timedelta(minutes=15)
                raise RateLimited(f"{self.label}: mentions budget spent mid-range", reset_at)
            pagination_token = next_token

    def post_reply(self, in_reply_to: str, text: str) -> str:
        if not self._can_post:
            raise AuthFailed(f"{self.label}: no user-context token configured, cannot post replies")
        response = self._call(
            "reply",
            lambda: self._client.create_tweet(text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True),
        )
        return str(response.data["id"])

    def find_reply(self, in_reply_to: str, marker: str) -> str | None:
        query = f"conversation_id:{in_reply_to} from:{self.key}"
        response = self._call(
            "search", lambda: self._client.search_recent_tweets(query, max_results=100, user_auth=self._can_post)
        )
        for tweet in response.data or []:
            if marker in tweet.text:
                return str(tweet.id)
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
        except tweepy.Forbidden as exc:
            raise AuthFailed(f"{self.label}: {what} answered 403: {_detail(exc)}") from exc
        except tweepy.TwitterServerError as exc:
            raise PlatformUnavailable(f"{self.label}: {what} answered {exc.response.status_code}") from exc
        except tweepy.HTTPException as exc:
            raise BadPayload(f"{self.label}: {what} answered {exc.response.status_code}: {_detail(exc)}") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise PlatformUnavailable(f"{self.label}: {what} failed: {type(exc).__name__}") from exc
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise BadPayload(f"{self.label}: {what} returned an unreadable body ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise PlatformError(f"{self.label}: {what} failed: {type(exc).__name__}") from exc
        logger.info("%s: %s ok (%s left)", self.label, what, self._watch.headers.get("x-rate-limit-remaining", "?"))
        return response

    def _to_mention(self, tweet: tweepy.Tweet, includes: dict[str, Any]) -> FetchedMention:
        data: dict[str, Any] = tweet.data
        try:
            users = {str(u.id): u for u in includes.get("users", [])}
            places = {p.id: p for p in includes.get("places", [])}
            author_id = str(data["author_id"]) if data.get("author_id") else None
            author = users.get(author_id or "")
            lat = lon = None
            place_name = None
            geo = data.get("geo") or {}
            point = (geo.get("coordinates") or {}).get("coordinates")
            if isinstance(point, list) and len(point) == 2:
                lon, lat = float(point[0]), float(point[1])
            place = places.get(geo.get("place_id")) if geo.get("place_id") else None
            if place is not None:
                place_name = place.full_name
                if lat is None:
                    bbox = (place.geo or {}).get("bbox")
                    if isinstance(bbox, list) and len(bbox) == 4:
                        lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
            referenced = [r for r in data.get("referenced_tweets") or [] if isinstance(r, dict)]
            in_reply_to = next((str(r["id"]) for r in referenced if r.get("type") == "replied_to"), None)
            ref_tweets = {str(t.id): t for t in includes.get("tweets", [])}
            ref_authors = []
            for ref in referenced:
                ref_tweet = ref_tweets.get(str(ref.get("id")))
                ref_author = users.get(str(ref_tweet.author_id)) if ref_tweet is not None else None
                if ref_author is not None:
                    ref_authors.append(ref_author.username)
            created_raw = data.get("created_at")
            created_at = datetime.fromisoformat(created_raw.replace("Z", "+00:00")) if created_raw else self._now()
            return FetchedMention(
                platform="x",
                external_id=str(data["id"]),
                text=str(data.get("text", "")),
                created_at=created_at,
                author_id=author_id,
                author_handle=author.username if author is not None else None,
                author_name=author.name if author is not None else None,
                lang=data.get("lang"),
                lat=lat,
                lon=lon,
                place_name=place_name,
                in_reply_to_id=in_reply_to,
                conversation_id=str(data["conversation_id"]) if data.get("conversation_id") else None,
                permalink=f"https://x.com/{author.username if author else 'i'}/status/{data['id']}",
                referenced_authors=tuple(ref_authors),
                is_own=author_id == self.own_user_id,
                raw=data,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadPayload(f"{self.label}: unreadable tweet {str(data.get('id'))[:30]!r}: {exc!r}") from exc


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


def _readable(label: str, makers: Iterator[Callable[[], FetchedMention]]) -> list[FetchedMention]:
    """Convert each post on its own: an unreadable one is logged and skipped, the rest go on."""
    out = []
    for make in makers:
        try:
            out.append(make())
        except BadPayload as exc:
            logger.warning("%s: skipped a post: %s", label, exc)
    return out


def _detail(exc: tweepy.HTTPException) -> str:
    messages = list(getattr(exc, "api_messages", []) or [])
    return "; ".join(str(m) for m in messages)[:200] or exc.response.reason or "error"
