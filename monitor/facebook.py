"""The Facebook adapter, on python-facebook-api (``pyfacebook.GraphAPI``).

What it reads: comments (and replies to comments) on the page's own posts from the last
``lookback_days``, and posts by others that tag the page. Graph returns both newest first; the
adapter reads each stream until it reaches the cursor (the newest ``created_time`` already stored)
and hands the posts over oldest first. The cursor is an ISO timestamp; posts at exactly that second
are read again and dropped by the store's uniqueness, so a burst within one second is never lost.

Graph reports throttling as HTTP 400 with error codes 4/17/32/613/80001 (not 429) and an expired token
as code 190; both are mapped to the platform error tree here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from pyfacebook import GraphAPI
from pyfacebook.exceptions import FacebookError, LibraryError

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
from monitor.ratelimit import HeaderWatch, graph_budget
from monitor.settings import FacebookPage
from monitor.transport import point_session_at

logger = logging.getLogger(__name__)

COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},permalink_url"
FEED_FIELDS = (
    f"id,created_time,permalink_url,comments.filter(stream).order(reverse_chronological).limit(100){{{COMMENT_FIELDS}}}"
)
TAGGED_FIELDS = "id,message,created_time,from{id,name},permalink_url,place"
THROTTLE_CODES = {4, 17, 32, 613, 80001, 80002, 80005}
AUTH_CODES = {102, 190, 200, 210, 10}
TRANSIENT_CODES = {1, 2}
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"


class FacebookPlatform:
    platform = "facebook"

    def __init__(
        self,
        page: FacebookPage,
        *,
        limit: int = 100,
        timeout_s: float = 20.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.key = page.key
        self.label = page.label
        self.own_user_id = page.key
        self._lookback = timedelta(days=page.lookback_days)
        self._limit = limit
        self._now = now
        base_url = page.api_base_url.rstrip("/") + "/" if page.api_base_url else None
        self._api = GraphAPI(
            access_token=page.page_token.reveal(),
            app_secret=page.app_secret.reveal() if page.app_secret else None,
            version=page.graph_version,
            base_url=base_url,
            timeout=int(timeout_s),
            sleep_on_rate_limit=False,
        )
        point_session_at(self._api.session, None, timeout_s=timeout_s)
        self._watch = HeaderWatch()
        self._watch.attach(self._api.session)

    def rate_budget(self) -> RateBudget:
        return graph_budget(self._watch.headers, self.key, self._now())

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]:
        since = _parse_time(cursor) if cursor else None
        oldest_post = self._now() - self._lookback
        newest = since
        found: list[FetchedMention] = []
        for post in self._paged(f"{self.key}/feed", {"fields": FEED_FIELDS, "limit": 25}, "feed"):
            try:
                if _parse_time(post.get("created_time")) < oldest_post:
                    break
            except ValueError:
                logger.warning("%s: feed post %r has no readable created_time", self.label, post.get("id"))
            found.extend(self._comments(post, since))
        for item in self._paged(f"{self.key}/tagged", {"fields": TAGGED_FIELDS, "limit": self._limit}, "tagged"):
            mention = self._safe(item, conversation_id=str(item.get("id")), is_comment=False)
            if mention is None:
                continue
            if since is not None and mention.created_at < since:
                break
            found.append(mention)
        found.sort(key=lambda m: (m.created_at, m.external_id))
        if found:
            newest = max(newest or found[-1].created_at, found[-1].created_at)
        yield Page(found, cursor=newest.strftime(GRAPH_TIME) if newest else cursor, is_last=True)

    def post_reply(self, in_reply_to: str, text: str) -> str:
        data = self._call("reply", lambda: self._api.post_object(in_reply_to, "comments", data={"message": text}))
        return str(data["id"])

    def find_reply(self, in_reply_to: str, marker: str) -> str | None:
        params = {"fields": COMMENT_FIELDS, "filter": "stream", "limit": 100}
        for comment in self._paged(f"{in_reply_to}/comments", params, "thread"):
            if (comment.get("from") or {}).get("id") == self.key and marker in str(comment.get("message", "")):
                return str(comment["id"])
        return None

    def _comments(self, post: dict[str, Any], since: datetime | None) -> Iterator[FetchedMention]:
        """Comments of one page post newer than ``since``, following the nested paging when needed."""
        edge = post.get("comments") or {}
        conversation_id = str(post.get("id"))
        while True:
            for comment in edge.get("data") or []:
                mention = self._safe(comment, conversation_id=conversation_id, is_comment=True)
                if mention is None:
                    continue
                if since is not None and mention.created_at < since:
                    return
                yield mention
            after = ((edge.get("paging") or {}).get("cursors") or {}).get("after")
            if not (edge.get("paging") or {}).get("next") or not after:
                return
            params = {
                "fields": COMMENT_FIELDS,
                "filter": "stream",
                "order": "reverse_chronological",
                "limit": self._limit,
                "after": after,
            }
            edge = self._call("comments", partial(self._api.get_connection, conversation_id, "comments", **params))

    def _paged(self, path: str, params: dict[str, Any], what: str) -> Iterator[dict[str, Any]]:
        object_id, connection = path.split("/", 1)
        args = dict(params)
        while True:
            data = self._call(what, partial(self._api.get_connection, object_id, connection, **args))
            yield from data.get("data") or []
            paging = data.get("paging") or {}
            if not paging.get("next"):
                return
            after = (paging.get("cursors") or {}).get("after")
            if not after:
                after = parse_qs(urlsplit(paging["next"]).query).get("after", [None])[0]
            if not after:
                return
            args["after"] = after

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        self._watch.reset()
        try:
            data = call()
        except FacebookError as exc:
            raise self._graph_error(what, exc) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise PlatformUnavailable(f"{self.label}: {what} failed: {type(exc).__name__}") from exc
        except (LibraryError, ValueError, KeyError) as exc:
            status = self._watch.status
            if status is not None and status >= 500:
                raise PlatformUnavailable(f"{self.label}: {what} answered {status}") from exc
            if status == 429:
                raise RateLimited(f"{self.label}: {what} answered 429", self._reset_at()) from exc
            if status in (401, 403):
                raise AuthFailed(f"{self.label}: {what} answered {status}: the token was rejected") from exc
            raise BadPayload(f"{self.label}: {what} returned an unreadable body (HTTP {status})") from exc
        except requests.RequestException as exc:
            raise PlatformError(f"{self.label}: {what} failed: {type(exc).__name__}") from exc
        if not isinstance(data, dict):
            raise BadPayload(f"{self.label}: {what} returned {type(data).__name__}, not an object")
        logger.info("%s: %s ok", self.label, what)
        return data

    def _graph_error(self, what: str, exc: FacebookError) -> PlatformError:
        code = getattr(exc, "code", None)
        message = str(getattr(exc, "message", ""))[:200]
        status = self._watch.status
        if code in THROTTLE_CODES or status == 429:
            return RateLimited(f"{self.label}: {what} throttled (code {code})", self._reset_at())
        if code in AUTH_CODES or status in (401, 403):
            return AuthFailed(f"{self.label}: {what} rejected the page token (code {code}): {message}")
        if code in TRANSIENT_CODES or (status is not None and status >= 500):
            return PlatformUnavailable(f"{self.label}: {what} answered {status} (code {code})")
        return BadPayload(f"{self.label}: {what} answered {status} (code {code}): {message}")

    def _reset_at(self) -> datetime:
        budget = self.rate_budget()
        return budget.reset_at or self._now() + timedelta(minutes=15)

    def _safe(self, item: Any, *, conversation_id: str, is_comment: bool) -> FetchedMention | None:
        """One item converted, or None (logged) when it is unreadable: a bad post affects only itself."""
        try:
            if not isinstance(item, dict):
                raise BadPayload(f"{self.label}: an item is {type(item).__name__}, not an object")
            return self._to_mention(item, conversation_id=conversation_id, is_comment=is_comment)
        except BadPayload as exc:
            logger.warning("%s: skipped a post: %s", self.label, exc)
            return None

    def _to_mention(self, item: dict[str, Any], *, conversation_id: str, is_comment: bool) -> FetchedMention:
        try:
            author = item.get("from") or {}
            parent = item.get("parent") or {}
            place = item.get("place") or {}
            location = place.get("location") or {}
            lat, lon = location.get("latitude"), location.get("longitude")
            return FetchedMention(
                platform="facebook",
                external_id=str(item["id"]),
                text=str(item.get("message") or ""),
                created_at=_parse_time(item.get("created_time")),
                author_id=str(author["id"]) if author.get("id") else None,
                author_name=author.get("name"),
                lat=float(lat) if lat is not None else None,
                lon=float(lon) if lon is not None else None,
                place_name=place.get("name"),
                in_reply_to_id=str(parent.get("id") or conversation_id) if is_comment else None,
                conversation_id=conversation_id,
                permalink=item.get("permalink_url"),
                is_own=str(author.get("id")) == self.key,
                raw=item,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadPayload(f"{self.label}: unreadable item {str(item.get('id'))[:40]!r}: {exc!r}") from exc


def _parse_time(value: Any) -> datetime:
    """Graph writes ``2021-08-10T18:45:03+0000``; ISO forms with ``Z`` or ``+00:00`` are read too."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing or bad created_time {value!r}")
    text = value.replace("Z", "+0000")
    if len(text) > 6 and text[-3] == ":":
        text = text[:-3] + text[-2:]
    return datetime.strptime(text, GRAPH_TIME).astimezone(UTC)
