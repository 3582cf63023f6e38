"""The sandbox's answers parse exactly like the recorded real responses in tests/fixtures/recorded/ (copied from the shared fixtures with their licenses).

For each recorded exchange the same request goes to the sandbox; the JSON must have the same shape
(keys and value types, recursively) and the real client library must build the same objects from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import tweepy
from pyfacebook import GraphAPI
from pyfacebook.models.comment import Comment, CommentsResponse
from pyfacebook.models.post import FeedResponse

from monitor.transport import point_session_at
from sandbox import FacebookPage, SandboxServer, ScenarioPost, XAccount

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"

ME = XAccount("1072250532645998596", "TweepyDev", "Tweepy Testing")
MENTIONED = XAccount("783214", "Twitter", "Twitter")
PAGE = FacebookPage("19292868552", "Meta for Developers")
POST = f"{PAGE.page_id}_10158407654328553"
T0 = datetime(2026, 9, 15, 6, 0, tzinfo=UTC)


def recorded_x(name: str, method: str = "GET") -> dict[str, Any]:
    exchanges = json.loads((FIXTURES / "twitter" / f"{name}.json").read_text(encoding="utf-8"))
    return next(e for e in exchanges if e["method"] == method)


def recorded_graph(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "facebook" / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list's shape is its first item's."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def attributes(obj: Any) -> dict[str, str]:
    """The attributes a parsed object actually carries, with their types (tweepy's models use slots)."""
    names = [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ())] or list(vars(obj))
    values = {n: getattr(obj, n, None) for n in names if n != "data"}
    return {k: type(v).__name__ for k, v in values.items() if v not in (None, [], {})}


def scenario() -> list[ScenarioPost]:
    posts = [ScenarioPost("x", f"@Twitter please fix my feed #{i}", f"user{i}", T0 + timedelta(minutes=i),
                          account="Twitter") for i in range(25)]
    posts += [ScenarioPost("facebook", f"Update {i}", PAGE.name, T0 - timedelta(days=i), kind="page_post",
                           account=PAGE.page_id, id=POST if i == 0 else None) for i in range(8)]
    posts += [ScenarioPost("facebook", f"How do I recover my page? ({i})", f"Member {i}", T0 + timedelta(minutes=i),
                           account=PAGE.page_id, in_reply_to=POST) for i in range(18)]
    return posts


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(scenario(), x_accounts=[ME, MENTIONED], facebook_pages=[PAGE]) as running:
        yield running


def x_clients(server: SandboxServer) -> tuple[tweepy.Client, tweepy.Client]:
    """A client returning tweepy Responses and one returning the raw HTTP response."""
    made = []
    for return_type in (tweepy.Response, requests.Response):
        client = tweepy.Client(bearer_token="t", consumer_key="ck", consumer_secret="cs", access_token="at",
                               access_token_secret="ats", return_type=return_type)
        point_session_at(client.session, server.url, timeout_s=5.0)
        made.append(client)
    return made[0], made[1]


def assert_rate_headers_like(recorded: dict[str, Any], answer: requests.Response) -> None:
    assert set(recorded["rate_limit"]) <= set(answer.headers)
    for name in recorded["rate_limit"]:
        assert answer.headers[name].isdigit()
    assert answer.headers["x-rate-limit-limit"] == recorded["rate_limit"]["x-rate-limit-limit"][0]


def test_users_mentions_parses_like_the_recording(server: SandboxServer) -> None:
    recorded = recorded_x("users_mentions")
    parsed, raw = x_clients(server)
    answer = raw.get_users_mentions(MENTIONED.user_id)
    assert answer.status_code == recorded["status"]
    assert shape(answer.json()) == shape(recorded["body"])
    assert_rate_headers_like(recorded, answer)
    ours = parsed.get_users_mentions(MENTIONED.user_id)
    theirs = parsed._construct_response(recorded["body"], data_type=tweepy.Tweet)
    assert type(ours.data) is type(theirs.data) is list and len(ours.data) == len(theirs.data) == 10
    assert all(isinstance(t, tweepy.Tweet) for t in ours.data)
    assert attributes(ours.data[0]) == attributes(theirs.data[0])
    assert shape(ours.meta) == shape(theirs.meta)
    assert isinstance(ours.data[0].id, int) and isinstance(ours.meta["newest_id"], str)


def test_get_me_parses_like_the_recording(server: SandboxServer) -> None:
    recorded = recorded_x("get_me")
    parsed, raw = x_clients(server)
    answer = raw.get_me(user_auth=True)
    assert answer.status_code == recorded["status"] and answer.json() == recorded["body"]
    assert_rate_headers_like(recorded, answer)
    ours, theirs = parsed.get_me(user_auth=True), parsed._construct_response(recorded["body"], tweepy.User)
    assert attributes(ours.data) == attributes(theirs.data)


def test_tweet_lookup_parses_like_the_recording(server: SandboxServer) -> None:
    recorded = recorded_x("get_tweets")
    parsed, raw = x_clients(server)
    ids = [p.external_id for p in server.state.posts("x")[:2]]
    answer = raw.get_tweets(ids)
    assert shape(answer.json()) == shape(recorded["body"])
    ours, theirs = parsed.get_tweets(ids), parsed._construct_response(recorded["body"], tweepy.Tweet)
    assert [attributes(t) for t in ours.data] == [attributes(t) for t in theirs.data]


def test_create_tweet_answers_like_the_recording(server: SandboxServer) -> None:
    """The 2021 recording predates ``edit_history_tweet_ids``, which X now sends on every tweet."""
    recorded = recorded_x("create_and_delete_tweet", "POST")
    parsed, raw = x_clients(server)
    answer = raw.create_tweet(text="Test Tweet", user_auth=True)
    assert answer.status_code == recorded["status"] == 201
    ours = shape(answer.json())
    assert set(ours["data"]) - set(recorded["body"]["data"]) == {"edit_history_tweet_ids"}
    assert {k: v for k, v in ours["data"].items() if k in recorded["body"]["data"]} == shape(recorded["body"])["data"]
    # the 2021 recording says 200 per 15 minutes; X's table now says 100 per user, and the sandbox follows it
    assert recorded["rate_limit"]["x-rate-limit-limit"][0] == "200" and answer.headers["x-rate-limit-limit"] == "100"
    created = parsed.create_tweet(text="Another Test Tweet", user_auth=True)
    assert isinstance(created.data, dict) and isinstance(created.data["id"], str)


def graph(server: SandboxServer) -> GraphAPI:
    return GraphAPI(access_token="token", base_url=server.graph_url, sleep_on_rate_limit=False)


def test_page_posts_parse_like_the_recorded_pages(server: SandboxServer) -> None:
    first = graph(server).get_connection(PAGE.page_id, "posts", fields="id,message,created_time", limit=5)
    assert shape(first) == shape(recorded_graph("posts__feed_fields_p1"))
    next_args = dict(parse_qsl(urlsplit(first["paging"]["next"]).query))  # what pyfacebook does with `next`
    last = graph(server).get_connection(PAGE.page_id, "posts", **next_args)
    assert shape(last) == shape(recorded_graph("posts__feed_fields_p2"))
    assert len(first["data"]) + len(last["data"]) == 8
    ours, theirs = FeedResponse.new_from_json_dict(first), FeedResponse.new_from_json_dict(
        recorded_graph("posts__feed_fields_p1"))
    assert attributes(ours.data[0]) == attributes(theirs.data[0])
    assert attributes(ours.paging) == attributes(theirs.paging)


def test_comments_parse_like_the_recorded_page(server: SandboxServer) -> None:
    """The recording lacks the ``id`` it asked for (stripped by its source); everything else matches."""
    recorded = recorded_graph("comments__comments_p1")
    body = graph(server).get_connection(POST, "comments", summary=1, filter="stream", limit=10,
                                        fields="id,comment_count,created_time,like_count,message,permalink_url")
    ours = shape(body)
    assert ours["data"][0].pop("id") == "str"
    assert ours == shape(recorded)
    assert body["summary"] == {"order": "chronological", "total_count": 18, "can_comment": True}
    parsed, expected = CommentsResponse.new_from_json_dict(body), CommentsResponse.new_from_json_dict(recorded)
    assert attributes(parsed.data[0]).keys() - {"id"} == attributes(expected.data[0]).keys()
    assert attributes(parsed.paging) == attributes(expected.paging)
    assert attributes(parsed.summary) == attributes(expected.summary)


def test_one_comment_and_a_created_comment_parse_like_the_recordings(server: SandboxServer) -> None:
    comment_id = server.state.posts("facebook")[-1].external_id
    info = graph(server).get_object(comment_id, fields="id,comment_count,created_time,like_count,message,permalink_url")
    assert shape(info) == shape(recorded_graph("comments__comment_info"))
    assert attributes(Comment.new_from_json_dict(info)) == attributes(
        Comment.new_from_json_dict(recorded_graph("comments__comment_info")))
    created = graph(server).post_object(POST, "comments", params={"fields": "id,message,permalink_url,created_time"},
                                        data={"message": "Message from api"})
    assert shape(created) == shape(recorded_graph("comments__create_resp"))
    assert created["created_time"].endswith("+0000") and created["permalink_url"].startswith("https://")


def test_the_page_node_parses_like_the_recording(server: SandboxServer) -> None:
    recorded = recorded_graph("pages__single_default_page")
    wanted = ["id", "name", "link", "category", "fan_count", "verification_status"]
    page = graph(server).get_object(PAGE.page_id, fields=",".join(wanted))
    assert shape(page) == {key: shape(recorded[key]) for key in wanted}
