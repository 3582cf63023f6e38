"""tweepy 4.17's real ``Client`` against the sandbox's X API on a real port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import tweepy

from monitor.transport import point_session_at
from sandbox import FaultSpec, RateBudget, SandboxServer, ScenarioPost, XAccount

TRAFFIC = XAccount("1021737162349010945", "blrcitytraffic", "Bengaluru Traffic Police", access_token="traffic-token")
POLICE = XAccount("1011905472466219008", "BlrCityPolice", "Bengaluru City Police", access_token="police-token")
T0 = datetime(2026, 9, 15, 0, 30, tzinfo=UTC)


def mentions(n: int, account: str = "blrcitytraffic") -> list[ScenarioPost]:
    return [
        ScenarioPost("x", f"wrong side driving report {i}", f"citizen_{i % 7}", T0 + timedelta(minutes=i),
                     account=account,
                     lat=12.914483 if i % 3 == 0 else None, lon=77.624216 if i % 3 == 0 else None,
                     place="HSR Layout" if i % 6 == 0 else None)
        for i in range(n)
    ]


def client(server: SandboxServer, *, token: str = "traffic-token") -> tweepy.Client:
    c = tweepy.Client(bearer_token=token, consumer_key="ck", consumer_secret="cs", access_token=token,
                      access_token_secret="ats")
    point_session_at(c.session, server.url, timeout_s=5.0)
    return c


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(mentions(57) + mentions(3, "BlrCityPolice"), x_accounts=[TRAFFIC, POLICE]) as running:
        yield running


def read_all(c: tweepy.Client, **params: object) -> tuple[list[tweepy.Tweet], int]:
    tweets: list[tweepy.Tweet] = []
    token = None
    pages = 0
    while True:
        response = c.get_users_mentions(TRAFFIC.user_id, pagination_token=token, **params)
        pages += 1
        tweets.extend(response.data or [])
        token = response.meta.get("next_token")
        if not token:
            return tweets, pages


def test_pagination_returns_every_mention_once_newest_first(server: SandboxServer) -> None:
    tweets, pages = read_all(client(server), max_results=10)
    expected = [p.external_id for p in server.state.posts("x") if p.account == TRAFFIC.user_id]
    assert pages == 6
    assert [str(t.id) for t in tweets] == sorted(expected, key=int, reverse=True)
    assert all(isinstance(t, tweepy.Tweet) for t in tweets)


def test_since_id_excludes_older_and_an_empty_range_is_just_meta(server: SandboxServer) -> None:
    c = client(server)
    ids = sorted(int(p.external_id) for p in server.state.posts("x") if p.account == TRAFFIC.user_id)
    newer = c.get_users_mentions(TRAFFIC.user_id, since_id=ids[-4], max_results=100)
    assert sorted(t.id for t in newer.data) == ids[-3:]
    assert newer.meta == {"result_count": 3, "newest_id": str(ids[-1]), "oldest_id": str(ids[-3])}
    raw = c.session.get(f"https://api.twitter.com/2/users/{TRAFFIC.user_id}/mentions",
                        params={"since_id": ids[-1]}, headers={"Authorization": "Bearer traffic-token"})
    assert raw.status_code == 200 and raw.json() == {"meta": {"result_count": 0}}
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(raw.headers)


def test_fields_and_expansions_bring_users_places_and_geo(server: SandboxServer) -> None:
    response = client(server).get_users_mentions(
        TRAFFIC.user_id, max_results=100, expansions=["author_id", "geo.place_id"],
        tweet_fields=["created_at", "geo", "conversation_id", "lang"],
        user_fields=["username", "name"], place_fields=["full_name", "geo", "country_code", "place_type"])
    users = {u.id: u for u in response.includes["users"]}
    places = {p.id: p for p in response.includes["places"]}
    geotagged = [t for t in response.data if t.geo]
    assert len(geotagged) == 19
    for tweet in response.data:
        assert users[tweet.author_id].username.startswith("citizen_")
        assert tweet.created_at.tzinfo is not None and tweet.conversation_id == tweet.id
    for tweet in geotagged:
        assert tweet.geo["coordinates"] == {"type": "Point", "coordinates": [77.624216, 12.914483]}
        place = places[tweet.geo["place_id"]]
        assert place.country_code == "IN" and place.full_name in ("HSR Layout, Bengaluru", "Bengaluru, India")
    bare = client(server).get_users_mentions(TRAFFIC.user_id)
    assert set(bare.data[0].data) == {"id", "text", "edit_history_tweet_ids"} and bare.includes == {}


def test_max_results_outside_5_to_100_is_a_bad_request(server: SandboxServer) -> None:
    with pytest.raises(tweepy.BadRequest, match="is not between 5 and 100"):
        client(server).get_users_mentions(TRAFFIC.user_id, max_results=101)


def test_a_reply_is_recorded_joins_the_thread_and_is_found_by_search(server: SandboxServer) -> None:
    c = client(server)
    target = c.get_users_mentions(TRAFFIC.user_id).data[0]
    text = f"@{'citizen_0'} Forwarded to HSR Layout traffic PS. Docket BLR-2026-000042"
    posted = c.create_tweet(text=text, in_reply_to_tweet_id=target.id, user_auth=True)
    assert set(posted.data) == {"id", "text", "edit_history_tweet_ids"} and posted.data["text"] == text
    (received,) = server.state.received()
    assert (received.platform, received.in_reply_to, received.text, received.account) == (
        "x", str(target.id), text, "blrcitytraffic")
    assert received.id == posted.data["id"]
    found = c.search_recent_tweets(f"conversation_id:{target.id} from:blrcitytraffic", max_results=100,
                                   user_auth=True)
    assert [t.id for t in found.data] == [int(posted.data["id"])]
    with pytest.raises(tweepy.Forbidden, match="duplicate content"):
        c.create_tweet(text=text, in_reply_to_tweet_id=target.id, user_auth=True)
    assert len(server.state.received()) == 1


def test_users_me_answers_for_the_account_whose_token_signed(server: SandboxServer) -> None:
    assert client(server, token="police-token").get_me(user_auth=True).data.username == "BlrCityPolice"
    assert client(server).get_me(user_auth=True).data.id == int(TRAFFIC.user_id)


def test_429_carries_the_reset_and_lasts_until_it(server: SandboxServer) -> None:
    c = client(server)
    server.state.add_fault(FaultSpec("rate_limit", platform="x", path="/mentions", reset_in_s=1.5))
    before = time.time()
    with pytest.raises(tweepy.TooManyRequests) as caught:
        c.get_users_mentions(TRAFFIC.user_id)
    assert caught.value.reset_time is not None and before <= caught.value.reset_time <= before + 3
    assert caught.value.response.json()["title"] == "Too Many Requests"
    with pytest.raises(tweepy.TooManyRequests):
        c.get_users_mentions(TRAFFIC.user_id)  # the budget stays spent until the reset
    time.sleep(max(0.0, caught.value.reset_time - time.time()) + 0.6)
    assert c.get_users_mentions(TRAFFIC.user_id).meta["result_count"] == 10


def test_a_small_budget_is_spent_and_the_stats_show_it() -> None:
    with SandboxServer(mentions(20), x_accounts=[TRAFFIC],
                       rate_limits={"x.mentions": RateBudget(limit=3, window_s=900.0)}) as server:
        c = client(server)
        remaining = []
        for _ in range(3):
            c.session.hooks["response"] = [lambda r, *a, **k: remaining.append(r.headers["x-rate-limit-remaining"])]
            c.get_users_mentions(TRAFFIC.user_id)
        assert remaining == ["2", "1", "0"]
        with pytest.raises(tweepy.TooManyRequests):
            c.get_users_mentions(TRAFFIC.user_id)
        assert server.state.request_count(path_contains="/mentions", status=200) == 3
        assert server.state.request_count(path_contains="/mentions", status=429) == 1


def test_server_errors_expired_tokens_and_broken_json_raise_what_tweepy_raises(server: SandboxServer) -> None:
    c = client(server)
    server.state.add_fault(FaultSpec("status", platform="x", status=503))
    with pytest.raises(tweepy.TwitterServerError) as unavailable:
        c.get_users_mentions(TRAFFIC.user_id)
    assert unavailable.value.response.status_code == 503
    server.state.add_fault(FaultSpec("expired_token", platform="x", path="/mentions"))
    with pytest.raises(tweepy.Unauthorized):
        c.get_users_mentions(TRAFFIC.user_id)
    server.state.add_fault(FaultSpec("malformed", platform="x"))
    with pytest.raises(requests.JSONDecodeError):
        c.get_users_mentions(TRAFFIC.user_id)
    assert c.get_users_mentions(TRAFFIC.user_id).meta["result_count"] == 10  # each fault struck once


def test_one_corrupt_tweet_fails_tweepys_own_parsing_of_the_whole_page(server: SandboxServer) -> None:
    """What the adapter must not rely on: tweepy's models parse every tweet of a page at once."""
    c = client(server)
    newest = max((p for p in server.state.posts("x") if p.account == TRAFFIC.user_id), key=lambda p: int(p.external_id))
    server.state.add_fault(FaultSpec("corrupt_item", platform="x", corruption="bad_time", target=newest.external_id))
    with pytest.raises(ValueError):
        c.get_users_mentions(TRAFFIC.user_id, tweet_fields=["created_at"])
    server.state.add_fault(FaultSpec("corrupt_item", platform="x", corruption="from_string", count=1))
    raw = requests.get(f"{server.url}/2/users/{TRAFFIC.user_id}/mentions", timeout=5,
                       headers={"Authorization": "Bearer traffic-token"},
                       params={"expansions": "author_id", "tweet.fields": "created_at"}).json()
    assert raw["data"][0]["created_at"].endswith("Z")  # the bad_time fault struck once
    users = raw["includes"]["users"]
    assert sum(isinstance(u, str) for u in users) == 1 and sum(isinstance(u, dict) for u in users) == len(users) - 1


def test_a_timeout_holds_the_connection_then_closes_it(server: SandboxServer) -> None:
    c = client(server)
    server.state.add_fault(FaultSpec("timeout", platform="x", delay_s=0.3))
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        c.get_users_mentions(TRAFFIC.user_id)
    assert time.monotonic() - started >= 0.3
    server.state.add_fault(FaultSpec("timeout", platform="x", delay_s=5.0))
    slow = tweepy.Client(bearer_token="traffic-token")
    point_session_at(slow.session, server.url, timeout_s=0.5)
    with pytest.raises(requests.ReadTimeout):
        slow.get_users_mentions(TRAFFIC.user_id)
    assert server.state.request_count(status=0) == 2


def test_a_request_without_authorization_is_refused() -> None:
    with SandboxServer(mentions(1), x_accounts=[TRAFFIC]) as server:
        answer = requests.get(f"{server.url}/2/users/{TRAFFIC.user_id}/mentions", timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": 401}


def test_manual_release_over_http_makes_posts_appear_in_order() -> None:
    with SandboxServer(mentions(12), x_accounts=[TRAFFIC], release="manual") as server:
        c = client(server)
        assert c.get_users_mentions(TRAFFIC.user_id).meta == {"result_count": 0}
        assert requests.post(f"{server.url}/_sandbox/release", json={"n": 5}, timeout=5).json() == {
            "released": 5, "pending": 7}
        first = c.get_users_mentions(TRAFFIC.user_id)
        assert first.meta["result_count"] == 5
        requests.post(f"{server.url}/_sandbox/release", json={"all": True}, timeout=5)
        newer = c.get_users_mentions(TRAFFIC.user_id, since_id=first.meta["newest_id"], max_results=100)
        assert newer.meta["result_count"] == 7
        assert min(t.id for t in newer.data) > int(first.meta["newest_id"])
