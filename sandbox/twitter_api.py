"""The X API v2 endpoints the bot uses, answered from the sandbox's world.

``GET /2/users/me``, ``GET /2/users/by/username/:username``, ``GET /2/users/:id/mentions``,
``GET /2/users/:id/tweets`` (the user's own posts), ``GET /2/tweets`` (``ids=``), ``GET /2/tweets/:id``,
``GET /2/tweets/search/recent`` and ``POST /2/tweets``. Every answered request is counted against its
endpoint's budget per token and carries ``x-rate-limit-*`` headers; a spent budget answers 429 until
the window resets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sandbox.config import XAccount
from sandbox.corrupt import corrupt_body
from sandbox.faults import FaultSpec
from sandbox.ids import decode_x_token, encode_x_token, parse_x_time
from sandbox.posts import StoredPost
from sandbox.state import PostRejected, SandboxState
from sandbox.twitter_errors import (
    invalid_request,
    not_found_error,
    problem,
    rate_headers,
    too_many_requests,
    unauthorized,
)
from sandbox.twitter_render import TweetQuery, XUser, render_tweets, render_user
from sandbox.twitter_search import QueryError, compile_query
from sandbox.wire import Reply, Request, json_reply

MENTION_TIMELINE_DEPTH = 800  # X serves only the newest 800 mentions
USER_TIMELINE_DEPTH = 3200  # and the newest 3,200 posts of a user's own timeline
# X's answers to a refused POST /2/tweets (403, problem body), by the sandbox's reason
REFUSALS = {
    "duplicate": "You are not allowed to create a Tweet with duplicate content.",
    "parent_missing": "You attempted to reply to a Tweet that is deleted or not visible to you.",
    "not_allowed": "Reply to this conversation is not allowed because you have not been mentioned or "
                   "otherwise engaged by the author of the post you are replying to.",
}
MAX_TWEET_LENGTH = 280
_ID = re.compile(r"^[0-9]{1,19}$")
_URL = re.compile(r"https?://\S+")

Handler = Callable[[SandboxState, Request, str], Reply]


class _BadParams(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__("bad parameters")
        self.reply = reply


@dataclass(frozen=True)
class Route:
    budget: str
    handler: Handler
    arg: str = ""  # the path's variable part


def caller_of(request: Request) -> str:
    return request.oauth_token() or request.bearer_token() or "anonymous"


def account_for_token(state: SandboxState, request: Request) -> XAccount | None:
    tokens = {request.oauth_token(), request.bearer_token()} - {None}
    return next((a for a in state.directory.x_accounts if a.access_token and a.access_token in tokens), None)


def user_of(state: SandboxState) -> Callable[[str, str], XUser]:
    def lookup(user_id: str, username: str) -> XUser:
        account = state.directory.x_account(user_id)
        if account is not None:
            return XUser(account.user_id, account.username, account.display_name)
        return XUser(user_id, username, username.replace("_", " ").strip().title() or username)

    return lookup


def _page(state: SandboxState, request: Request, posts: list[StoredPost], *,
          max_results: int, token_param: str) -> Reply:
    """One newest-first page of ``posts`` with X's meta (and next_token when more remain)."""
    token = request.query.get(token_param)
    if token:
        before_id = decode_x_token(token)
        if before_id is None:
            return invalid_request([(token_param, token, f"The `{token_param}` query parameter value "
                                                         f"[{token}] is not valid")])
        posts = [p for p in posts if int(p.external_id) < before_id]
    page = posts[:max_results]
    if not page:
        return json_reply(200, {"meta": {"result_count": 0}})
    data, includes = render_tweets(
        page, TweetQuery.from_query(request.query),
        lookup=lambda post_id: state.find("x", post_id), user_of=user_of(state),
        user_id_of=state.directory.x_user_id, city=state.city)
    meta: dict[str, Any] = {"result_count": len(page), "newest_id": page[0].external_id,
                            "oldest_id": page[-1].external_id}
    if len(posts) > max_results:
        meta["next_token"] = encode_x_token(int(page[-1].external_id))
    body: dict[str, Any] = {"data": data}
    if includes:
        body["includes"] = includes
    body["meta"] = meta
    return json_reply(200, body)


def _filters(query: Mapping[str, str], *, low: int, high: int) -> tuple[int, Callable[[StoredPost], bool]]:
    errors: list[tuple[str, str, str]] = []
    raw_max = query.get("max_results", "10")
    max_results = int(raw_max) if raw_max.isdigit() else -1
    if not low <= max_results <= high:
        errors.append(("max_results", raw_max,
                       f"The `max_results` query parameter value [{raw_max}] is not between {low} and {high}"))
    ids: dict[str, int] = {}
    for name in ("since_id", "until_id"):
        if name in query:
            if _ID.match(query[name]):
                ids[name] = int(query[name])
            else:
                errors.append((name, query[name], f"The `{name}` query parameter value [{query[name]}] "
                                                  "does not match ^[0-9]{1,19}$"))
    times: dict[str, datetime] = {}
    for name in ("start_time", "end_time"):
        if name in query:
            parsed = parse_x_time(query[name])
            if parsed is None:
                errors.append((name, query[name], f"Invalid '{name}':'{query[name]}'. '{name}' must be "
                                                  "a valid RFC 3339 timestamp"))
            else:
                times[name] = parsed
    if errors:
        raise _BadParams(invalid_request(errors))
    start, end = times.get("start_time"), times.get("end_time")

    def keep(post: StoredPost) -> bool:
        number = int(post.external_id)
        return (
            ("since_id" not in ids or number > ids["since_id"])
            and ("until_id" not in ids or number < ids["until_id"])
            and (start is None or post.created_at >= start)
            and (end is None or post.created_at <= end)
        )

    return max_results, keep


def mentions(state: SandboxState, request: Request, user_id: str) -> Reply:
    if not _ID.match(user_id):
        return invalid_request([("id", user_id, f"The `id` query parameter value [{user_id}] does not "
                                                "match ^[0-9]{1,19}$")])
    account = state.directory.x_account(user_id)
    if account is None or account.user_id != user_id:
        return json_reply(200, {"errors": [not_found_error("user", "id", user_id)]})
    max_results, keep = _filters(request.query, low=5, high=100)
    timeline = sorted((p for p in state.posts("x") if p.kind == "mention" and p.account == user_id),
                      key=lambda p: int(p.external_id), reverse=True)[:MENTION_TIMELINE_DEPTH]
    return _page(state, request, [p for p in timeline if keep(p)], max_results=max_results,
                 token_param="pagination_token")


def user_tweets(state: SandboxState, request: Request, user_id: str) -> Reply:
    """The posts ``user_id`` wrote (replies included unless ``exclude=replies``), newest first."""
    if not _ID.match(user_id):
        return invalid_request([("id", user_id, f"The `id` query parameter value [{user_id}] does not "
                                                "match ^[0-9]{1,19}$")])
    account = state.directory.x_account(user_id)
    if account is None or account.user_id != user_id:
        return json_reply(200, {"errors": [not_found_error("user", "id", user_id)]})
    max_results, keep = _filters(request.query, low=5, high=100)
    excluded = {part.strip() for part in request.query.get("exclude", "").split(",")}
    timeline = sorted((p for p in state.posts("x") if p.author_id == user_id
                       and not ("replies" in excluded and p.in_reply_to)),
                      key=lambda p: int(p.external_id), reverse=True)[:USER_TIMELINE_DEPTH]
    return _page(state, request, [p for p in timeline if keep(p)], max_results=max_results,
                 token_param="pagination_token")


def search_recent(state: SandboxState, request: Request, _: str) -> Reply:
    query = request.query.get("query", "")
    try:
        matches = compile_query(query)
    except QueryError as exc:
        return invalid_request([("query", query, str(exc))])
    max_results, keep = _filters(request.query, low=10, high=100)
    found = [p for p in state.posts("x")
             if keep(p) and matches(p, state.find("x", p.in_reply_to) if p.in_reply_to else None)]
    found.sort(key=lambda p: int(p.external_id), reverse=True)
    return _page(state, request, found, max_results=max_results, token_param="next_token")


def tweets_lookup(state: SandboxState, request: Request, tweet_id: str) -> Reply:
    wanted = [tweet_id] if tweet_id else [i for i in request.query.get("ids", "").split(",") if i]
    if not wanted or len(wanted) > 100 or not all(_ID.match(i) for i in wanted):
        value = request.query.get("ids", tweet_id)
        return invalid_request([("ids", value, "The `ids` query parameter value [" + value + "] is not valid")])
    found = [post for post in (state.find("x", i) for i in wanted) if post is not None]
    data, includes = render_tweets(found, TweetQuery.from_query(request.query),
                                   lookup=lambda post_id: state.find("x", post_id), user_of=user_of(state),
                                   user_id_of=state.directory.x_user_id, city=state.city)
    body: dict[str, Any] = {}
    if data:
        body["data"] = data[0] if tweet_id else data
    if includes:
        body["includes"] = includes
    missing = [i for i in wanted if state.find("x", i) is None]
    if missing:
        body["errors"] = [not_found_error("tweet", "id", i) for i in missing]
    return json_reply(200, body)


def users_me(state: SandboxState, request: Request, _: str) -> Reply:
    account = account_for_token(state, request) or state.directory.x_account(None)
    if account is None:
        return unauthorized()
    user = XUser(account.user_id, account.username, account.display_name)
    return json_reply(200, {"data": render_user(user, TweetQuery.from_query(request.query).user_fields)})


def users_by_username(state: SandboxState, request: Request, username: str) -> Reply:
    account = state.directory.x_account(username)
    author = next((p for p in state.posts("x") if p.author_name.lower() == username.lower()), None)
    if account is not None:
        user = XUser(account.user_id, account.username, account.display_name)
    elif author is not None:
        user = user_of(state)(author.author_id, author.author_name)
    else:
        return json_reply(200, {"errors": [not_found_error("user", "username", username)]})
    return json_reply(200, {"data": render_user(user, TweetQuery.from_query(request.query).user_fields)})


def tweet_length(text: str) -> int:
    """X's weighted length (twitter-text v3): a URL counts 23; U+0000-10FF (Latin, Devanagari, Kannada...)
    and general punctuation count 1; everything else (CJK, emoji) counts 2."""
    length = 0
    for part_index, part in enumerate(_URL.split(text)):
        if part_index:
            length += 23
        length += sum(1 if ord(ch) <= 0x10FF or 0x2000 <= ord(ch) <= 0x201F else 2 for ch in part)
    return length


def create_tweet(state: SandboxState, request: Request, _: str) -> Reply:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
        return invalid_request([("text", "", "The `text` field is required and must be a non-empty string")])
    text: str = body["text"]
    reply = body.get("reply") if isinstance(body.get("reply"), dict) else None
    parent_id = str(reply["in_reply_to_tweet_id"]) if reply and reply.get("in_reply_to_tweet_id") else None
    if tweet_length(text) > MAX_TWEET_LENGTH:
        return problem(403, "Your Tweet text is too long.")
    parent = state.find("x", parent_id) if parent_id else None
    account = (account_for_token(state, request)
               or (state.directory.x_account(parent.account) if parent else None)
               or state.directory.x_account(None))
    if account is None:
        return unauthorized()
    try:
        posted = state.post_tweet(account, text, parent_id, request.path)
    except PostRejected as exc:
        return problem(403, REFUSALS[exc.reason])
    return json_reply(201, {"data": {"edit_history_tweet_ids": [posted.external_id],
                                     "id": posted.external_id, "text": posted.text}})


def route(method: str, path: str) -> Route | None:
    parts = path.rstrip("/").split("/")[1:]  # "/2/users/1/mentions" -> ["2", "users", "1", "mentions"]
    if method == "POST":
        return Route("x.create_tweet", create_tweet) if parts == ["2", "tweets"] else None
    if method != "GET":
        return None
    match parts:
        case ["2", "users", "me"]:
            return Route("x.users_me", users_me)
        case ["2", "users", "by", "username", username]:
            return Route("x.users_by_username", users_by_username, username)
        case ["2", "users", user_id, "mentions"]:
            return Route("x.mentions", mentions, user_id)
        case ["2", "users", user_id, "tweets"]:
            return Route("x.user_tweets", user_tweets, user_id)
        case ["2", "tweets", "search", "recent"]:
            return Route("x.search_recent", search_recent)
        case ["2", "tweets"]:
            return Route("x.tweets_lookup", tweets_lookup)
        case ["2", "tweets", tweet_id]:
            return Route("x.tweets_lookup", tweets_lookup, tweet_id)
    return None


def handle(state: SandboxState, request: Request) -> Reply:
    if "authorization" not in request.headers:
        return unauthorized()
    found = route(request.method, request.path)
    if found is None:
        return problem(404, "Sorry, that page does not exist.")
    usage = state.spend(found.budget, caller_of(request))
    if not usage.is_allowed:
        return too_many_requests(usage)
    try:
        reply = found.handler(state, request, found.arg)
    except _BadParams as exc:
        reply = exc.reply
    return reply.with_headers(rate_headers(usage))


def fault_reply(state: SandboxState, request: Request, fault: FaultSpec) -> Reply:
    """What X answers when ``fault`` strikes this request."""
    if fault.kind == "timeout":
        return Reply(0, hang_s=fault.delay_s)
    if fault.kind == "expired_token":
        return unauthorized()
    if fault.kind == "corrupt_item":
        assert fault.corruption is not None  # FaultSpec checks it
        reply = handle(state, request)
        body = corrupt_body(reply.body, wire="x", corruption=fault.corruption, target=fault.target)
        return replace(reply, body=body)
    found = route(request.method, request.path)
    budget = found.budget if found else "x.other"
    if fault.kind == "rate_limit":
        return too_many_requests(state.exhaust(budget, caller_of(request), fault.reset_in_s))
    if fault.kind == "malformed":
        usage = state.peek_budget(budget, caller_of(request))
        broken = b'{"data":[{"edit_history_tweet_ids":["1800000000000000000"],"id":"18000000'
        return Reply(200, broken, (("Content-Type", "application/json; charset=utf-8"),)).with_headers(
            rate_headers(usage))
    return problem(fault.status)
