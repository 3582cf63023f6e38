"""The Facebook adapter, on python-facebook-api (``pyfacebook.GraphAPI``).

What it reads: comments (and replies to comments) on the page's own posts from the last
``lookback_days``, and posts by others that tag the page. Graph returns both newest first; the
adapter reads each stream until it reaches the cursor (the newest ``created_time`` already stored)
and hands the posts over oldest first. The cursor is an ISO timestamp. Graph can show a comment some
minutes after its ``created_time``, so each poll reads back ``READ_BACK`` before the cursor (the page's
own replies, dated when the bot posts them, never move it): what is read again is dropped by the store's
uniqueness, so neither a burst within one second nor a comment shown late is lost.

Each item is read on its own (``monitor.payload``): one that cannot be read is logged by its id and
skipped, the rest of the page is kept, and the cursor moves past it when its time was readable. A
container of the wrong shape (``data`` not a list, unreadable paging) is a ``BadPayload``: nothing is
skipped past a page that could not be read.

Graph reports throttling as HTTP 400 with error codes 4/17/32/613/80001 (not 429) and an expired token
as code 190; both are mapped to the platform error tree here. Replying, code 100 subcode 33 on the
object means it was deleted (``ParentDeleted``); a private reply (``POST /{page-id}/messages`` with the
comment as recipient) is refused for good when the comment already had one (code 10900) or is more than
7 days old (``ReplyNotAllowed``; Meta documents the limit, not the code: 10/2018278, the Send API's
outside-the-window error, and 10903 are taken as that refusal).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from pyfacebook import GraphAPI
from pyfacebook.exceptions import FacebookError, LibraryError

from models.posts import FetchedMention
from monitor.payload import Fields, ItemReader, Skipped, printable_id, shape
from monitor.platform import (
    AuthFailed,
    BadPayload,
    Page,
    ParentDeleted,
    PlatformError,
    PlatformUnavailable,
    RateBudget,
    RateLimited,
    ReplyNotAllowed,
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
# (code, subcode or None for any) of a refused reply, and what it means here
Refusals = Mapping[tuple[int, int | None], type[PlatformError]]
COMMENT_REFUSALS: Refusals = {(100, 33): ParentDeleted}
PRIVATE_REPLY_REFUSALS: Refusals = {
    (10900, None): ReplyNotAllowed,  # "Activity already replied to": one private reply per comment
    (10903, None): ReplyNotAllowed,  # "This user can't reply to this activity"
    (10, 2018278): ReplyNotAllowed,  # outside the allowed window (7 days for a private reply)
    (100, 33): ParentDeleted,
}


READ_BACK = timedelta(minutes=15)  # a comment shown up to this late after its created_time is still read


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
        self._items = ItemReader(self.label)

    def rate_budget(self) -> RateBudget:
        return graph_budget(self._watch.headers, self.key, self._now())

    def fetch(self, cursor: str | None, resume: str | None = None) -> Iterator[Page]:
        stored_up_to = _parse_time(cursor) if cursor else None
        since = stored_up_to - READ_BACK if stored_up_to is not None else None
        oldest_post = self._now() - self._lookback
        seen: list[FetchedMention | Skipped] = []
        for post in self._paged(f"{self.key}/feed", {"fields": FEED_FIELDS, "limit": 25}, "feed"):
            if not isinstance(post, dict):
                self._items.report(f"skipped a page post that is {shape(post)}, not an object")
                continue
            try:
                if _parse_time(post.get("created_time")) < oldest_post:
                    break
            except (ValueError, OverflowError):  # OverflowError: a time out of UTC's range
                self._items.report(f"page post {printable_id(post.get('id'))} has no readable created_time")
            seen.extend(self._comments(post, since))
        for item in self._paged(f"{self.key}/tagged", {"fields": TAGGED_FIELDS, "limit": self._limit}, "tagged"):
            convert = partial(self._to_mention, conversation_id=None, is_comment=False)
            read = self._items.read(item, "tagged post", convert)
            if since is not None and read.created_at is not None and read.created_at < since:
                break
            seen.append(read)
        found = [m for m in seen if isinstance(m, FetchedMention)]
        found.sort(key=lambda m: (m.created_at, m.external_id))
        # a skipped item whose time was readable counts too: the cursor moves past it. The page's own replies do
        # not: one posted now would carry the cursor past citizens' comments Graph has not shown yet
        times = (m.created_at for m in seen if not (isinstance(m, FetchedMention) and m.is_own))
        newest = max((t for t in (stored_up_to, *times) if t is not None), default=None)
        yield Page(found, cursor=newest.strftime(GRAPH_TIME) if newest else cursor, is_last=True)

    def post_reply(self, in_reply_to: str, text: str) -> str:
        data = self._call(
            "reply",
            lambda: self._api.post_object(in_reply_to, "comments", data={"message": text}),
            refusals=COMMENT_REFUSALS,
        )
        return self._id_of(data, "id", "reply")

    def post_private_reply(self, comment_id: str, text: str) -> str:
        """A private message to the author of ``comment_id``; returns the message id."""
        payload = {
            "recipient": json.dumps({"comment_id": comment_id}),
            "message": json.dumps({"text": text}, ensure_ascii=False),
        }
        data = self._call(
            "private reply",
            lambda: self._api.post_object(self.key, "messages", data=payload),
            refusals=PRIVATE_REPLY_REFUSALS,
        )
        return self._id_of(data, "message_id", "private reply")

    def find_reply(self, in_reply_to: str, marker: str) -> str | None:
        """The page's comment holding ``marker`` among the replies to ``in_reply_to``; Graph keeps two
        levels, so a reply to a reply sits under the top-level comment, which is looked in too. A private
        reply is not a comment and is never found here. A deleted ``in_reply_to`` is ``ParentDeleted``
        (our reply went with it)."""
        found = self._find_in(in_reply_to, marker)
        if found is not None:
            return found
        try:
            node = self._call("thread", partial(self._api.get_object, in_reply_to, fields="id,parent{id}"))
        except BadPayload:  # a post has no parent field
            return None
        parent = node.get("parent")
        parent_id = str(parent.get("id")) if isinstance(parent, dict) else ""
        return self._find_in(parent_id, marker) if printable_id(parent_id) == parent_id else None

    def _find_in(self, object_id: str, marker: str) -> str | None:
        params = {"fields": COMMENT_FIELDS, "filter": "stream", "limit": 100}
        for comment in self._paged(f"{object_id}/comments", params, "thread", refusals=COMMENT_REFUSALS):
            if not isinstance(comment, dict) or not isinstance(comment.get("from"), dict):
                continue
            message = comment.get("message")
            if comment["from"].get("id") == self.key and isinstance(message, str) and marker in message:
                return str(comment["id"])
        return None

    def _id_of(self, data: dict[str, Any], key: str, what: str) -> str:
        value = data.get(key)
        if printable_id(value) != str(value):
            raise BadPayload(f"{self.label}: {what} answered without a readable id")
        return str(value)

    def _comments(self, post: dict[str, Any], since: datetime | None) -> Iterator[FetchedMention | Skipped]:
        """Comments of one page post newer than ``since``, following the nested paging when needed."""
        conversation_id = printable_id(post.get("id"))
        if conversation_id != str(post.get("id")):
            self._items.report("skipped the comments of a page post without a readable id")
            return
        edge = post.get("comments")
        convert = partial(self._to_mention, conversation_id=conversation_id, is_comment=True)
        cursors_seen: set[str] = set()
        while edge is not None:
            comments, after = self._edge(edge, f"comments of {conversation_id}")
            for comment in comments:
                read = self._items.read(comment, "comment", convert)
                if since is not None and read.created_at is not None and read.created_at < since:
                    return
                yield read
            if after is None:
                return
            self._check_new(after, cursors_seen, f"comments of {conversation_id}")
            params = {
                "fields": COMMENT_FIELDS,
                "filter": "stream",
                "order": "reverse_chronological",
                "limit": self._limit,
                "after": after,
            }
            edge = self._call("comments", partial(self._api.get_connection, conversation_id, "comments", **params))

    def _edge(self, edge: Any, what: str) -> tuple[list[Any], str | None]:
        """The items of one answer (or nested edge) and the cursor of the next page, None at the end.

        The container is not an item: when its shape is wrong nothing of it can be trusted to have been
        read, so it is a :class:`BadPayload` (the poll is retried) rather than skipped past.
        """
        if not isinstance(edge, dict) or not isinstance(edge.get("data", []), list):
            raise BadPayload(f"{self.label}: {what} is not a list of items")
        paging = edge.get("paging", {})
        if not isinstance(paging, dict) or not isinstance(paging.get("cursors", {}), dict):
            raise BadPayload(f"{self.label}: {what} has unreadable paging")
        if not paging.get("next"):
            return edge.get("data") or [], None
        after = (paging.get("cursors") or {}).get("after")
        if not after and isinstance(paging["next"], str):
            after = parse_qs(urlsplit(paging["next"]).query).get("after", [None])[0]
        return edge.get("data") or [], after if isinstance(after, str) and after else None

    def _paged(
        self, path: str, params: dict[str, Any], what: str, *, refusals: Refusals | None = None
    ) -> Iterator[Any]:
        object_id, connection = path.split("/", 1)
        args = dict(params)
        cursors_seen: set[str] = set()
        while True:
            call = partial(self._api.get_connection, object_id, connection, **args)
            answer = self._call(what, call, refusals=refusals)
            items, after = self._edge(answer, what)
            yield from items
            if after is None:
                return
            self._check_new(after, cursors_seen, what)
            args["after"] = after

    def _check_new(self, after: str, cursors_seen: set[str], what: str) -> None:
        """The same page again and again would never end: a paging cursor given before is a BadPayload."""
        if after in cursors_seen:
            raise BadPayload(f"{self.label}: {what} answered a paging cursor it had given before")
        cursors_seen.add(after)

    def _call(self, what: str, call: Callable[[], Any], *, refusals: Refusals | None = None) -> Any:
        self._watch.reset()
        try:
            data = call()
        except FacebookError as exc:
            raise self._graph_error(what, exc, refusals or {}) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise PlatformUnavailable(f"{self.label}: {what} failed: {type(exc).__name__}") from exc
        except (LibraryError, ValueError, KeyError, TypeError, RecursionError) as exc:  # TypeError: pyfacebook on null; RecursionError: nested too deep
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

    def _graph_error(self, what: str, exc: FacebookError, refusals: Refusals) -> PlatformError:
        code = getattr(exc, "code", None)
        message = str(getattr(exc, "message", ""))[:200]
        status = self._watch.status
        subcode = getattr(exc, "error_subcode", None)
        refusal = (refusals.get((code, subcode)) or refusals.get((code, None))) if isinstance(code, int) else None
        if refusal is not None:
            return refusal(f"{self.label}: {what} refused (code {code}, subcode {subcode}): {message}")
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

    def _to_mention(
        self, item: dict[str, Any], fields: Fields, *, conversation_id: str | None, is_comment: bool
    ) -> FetchedMention:
        """One comment or tagged post. ``from`` is needed when present: it alone tells the page's own
        comment from a citizen's (Graph leaves it out when the commenter's profile is hidden)."""
        external_id = fields.ident(item.get("id"), "id", needed=True)
        assert external_id is not None  # needed
        created_at = fields.time(item.get("created_time"), "created_time", _parse_time)
        author = fields.obj(item.get("from"), "from", needed=True)
        author_id = fields.ident(author.get("id"), "from.id", needed=True)
        place = fields.obj(item.get("place"), "place")
        location = fields.obj(place.get("location"), "place.location")
        parent = fields.obj(item.get("parent"), "parent")
        parent_id = fields.ident(parent.get("id"), "parent.id")
        thread = conversation_id or external_id
        return FetchedMention(
            platform="facebook",
            external_id=external_id,
            text=fields.text(item.get("message"), "message"),
            created_at=created_at,
            author_id=author_id,
            author_name=fields.string(author.get("name"), "from.name"),
            lat=fields.number(location.get("latitude"), "place.location.latitude"),
            lon=fields.number(location.get("longitude"), "place.location.longitude"),
            place_name=fields.string(place.get("name"), "place.name"),
            in_reply_to_id=(parent_id or thread) if is_comment else None,
            conversation_id=thread,
            permalink=fields.string(item.get("permalink_url"), "permalink_url"),
            is_own=author_id == self.key,
            raw=item,
        )


def _parse_time(value: Any) -> datetime:
    """Graph writes ``2021-08-10T18:45:03+0000``; ISO forms with ``Z`` or ``+00:00`` are read too."""
    if not isinstance(value, str) or not value:
        raise ValueError("missing or bad created_time")
    text = value.replace("Z", "+0000")
    if len(text) > 6 and text[-3] == ":":
        text = text[:-3] + text[-2:]
    return datetime.strptime(text, GRAPH_TIME).astimezone(UTC)
