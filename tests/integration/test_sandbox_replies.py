"""What the sandbox refuses when the bot replies, with X's and Meta's bodies, and how the adapters name each
refusal: X's reply rule, deleted parents, duplicates, ``POST /2/tweets`` at 100 per 15 minutes, the
account's own timeline for finding a reply, and Graph's one private reply per comment within 7 days."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from monitor.facebook import FacebookPlatform
from monitor.platform import DuplicateContent, ParentDeleted, RateLimited, ReplyNotAllowed
from monitor.twitter import TwitterPlatform
from sandbox import FacebookPage, SandboxServer, ScenarioPost, XAccount
from tests.builders import SANDBOX_TOKEN, make_facebook_page, make_x_account

TRAFFIC = XAccount("1021737162349010945", "blrcitytraffic", "Bengaluru Traffic Police", access_token=SANDBOX_TOKEN)
POLICE = XAccount("1011905472466219008", "BlrCityPolice", "Bengaluru City Police")
PAGE = FacebookPage("104735829586723", "Bengaluru City Police", access_token=SANDBOX_TOKEN)
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
TO_TRAFFIC, TO_POLICE = "1860000000000000001", "1860000000000000002"
PAGE_POST = f"{PAGE.page_id}_122100000000000001"
COMMENT, NESTED, OLD_COMMENT = "122100000000000001_501", "122100000000000001_502", "122100000000000001_503"
NOT_ALLOWED = ("Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged "
               "by the author of the post you are replying to.")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def scenario() -> list[ScenarioPost]:
    return [
        ScenarioPost("x", "@blrcitytraffic bus lane blocked at Hebbal", "ravi", NOW - timedelta(hours=1), id=TO_TRAFFIC,
                     account="blrcitytraffic"),
        ScenarioPost("x", "@BlrCityPolice chain snatching at Jayanagar", "asha", NOW - timedelta(minutes=50),
                     id=TO_POLICE, account="BlrCityPolice"),
        ScenarioPost("facebook", "Share your complaints below", PAGE.name, NOW - timedelta(days=10), id=PAGE_POST,
                     account=PAGE.page_id, kind="page_post"),
        ScenarioPost("facebook", "Pothole on 80 ft road", "Resident 1", NOW - timedelta(hours=2), id=COMMENT,
                     account=PAGE.page_id, in_reply_to=PAGE_POST),
        ScenarioPost("facebook", "Same on 100 ft road", "Resident 2", NOW - timedelta(hours=1), id=NESTED,
                     account=PAGE.page_id, in_reply_to=COMMENT),
        ScenarioPost("facebook", "Nobody came", "Resident 3", NOW - timedelta(days=7, minutes=1), id=OLD_COMMENT,
                     account=PAGE.page_id, in_reply_to=PAGE_POST),
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[SandboxServer]:
    with SandboxServer(scenario(), x_accounts=[TRAFFIC, POLICE], facebook_pages=[PAGE], clock=clock) as running:
        yield running


def x(server: SandboxServer, clock: Clock) -> TwitterPlatform:
    return TwitterPlatform(make_x_account(api_base_url=server.url), timeout_s=5.0, now=clock)


def facebook(server: SandboxServer, clock: Clock) -> FacebookPlatform:
    return FacebookPlatform(make_facebook_page(api_base_url=server.url), timeout_s=5.0, now=clock)


def post_tweet(server: SandboxServer, text: str, in_reply_to: str) -> requests.Response:
    return requests.post(f"{server.url}/2/tweets", json={"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to}},
                         headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}, timeout=5)


def graph_post(server: SandboxServer, path: str, data: dict[str, str]) -> requests.Response:
    return requests.post(f"{server.url}/v21.0/{path}", data={**data, "access_token": SANDBOX_TOKEN}, timeout=5)


def test_x_refuses_a_reply_to_a_post_that_does_not_mention_the_account(server: SandboxServer, clock: Clock) -> None:
    answer = post_tweet(server, "Forwarded to Jayanagar PS", TO_POLICE)
    assert answer.status_code == 403
    assert answer.json() == {"title": "Forbidden", "detail": NOT_ALLOWED, "type": "about:blank", "status": 403}
    with pytest.raises(ReplyNotAllowed, match="not been mentioned"):
        x(server, clock).post_reply(TO_POLICE, "Forwarded to Jayanagar PS")
    assert post_tweet(server, "Forwarded to Hebbal traffic PS", TO_TRAFFIC).status_code == 201
    assert len(server.state.received()) == 1


def test_a_deleted_tweet_is_gone_from_reads_and_refuses_replies(server: SandboxServer, clock: Clock) -> None:
    deleted = requests.delete(f"{server.url}/_sandbox/posts/x/{TO_TRAFFIC}", timeout=5)
    assert deleted.json() == {"platform": "x", "deleted": TO_TRAFFIC}
    assert requests.delete(f"{server.url}/_sandbox/posts/x/{TO_TRAFFIC}", timeout=5).status_code == 404
    answer = post_tweet(server, "Forwarded to Hebbal traffic PS", TO_TRAFFIC)
    assert (answer.status_code, answer.json()["detail"]) == (
        403, "You attempted to reply to a Tweet that is deleted or not visible to you.")
    with pytest.raises(ParentDeleted):
        x(server, clock).post_reply(TO_TRAFFIC, "Forwarded to Hebbal traffic PS")
    lookup = requests.get(f"{server.url}/2/tweets/{TO_TRAFFIC}", headers={"Authorization": "Bearer t"}, timeout=5)
    assert "data" not in lookup.json() and lookup.json()["errors"][0]["title"] == "Not Found Error"
    mentions = requests.get(f"{server.url}/2/users/{TRAFFIC.user_id}/mentions",
                            headers={"Authorization": "Bearer t"}, timeout=5)
    assert mentions.json() == {"meta": {"result_count": 0}}


def test_a_duplicate_is_refused_and_named(server: SandboxServer, clock: Clock) -> None:
    platform = x(server, clock)
    platform.post_reply(TO_TRAFFIC, "Docket BLR-2026-000007: forwarded to Hebbal traffic PS")
    with pytest.raises(DuplicateContent):
        platform.post_reply(TO_TRAFFIC, "Docket BLR-2026-000007: forwarded to Hebbal traffic PS")


def test_post_tweets_allows_100_per_15_minutes_per_user_then_429_until_the_reset(
    server: SandboxServer, clock: Clock
) -> None:
    for n in range(100):
        answer = post_tweet(server, f"Advisory {n}: Hebbal flyover closed for repairs", TO_TRAFFIC)
        assert answer.status_code == 201, answer.text
    assert answer.headers["x-rate-limit-limit"] == "100" and answer.headers["x-rate-limit-remaining"] == "0"
    refused = post_tweet(server, "Advisory 100", TO_TRAFFIC)
    reset = int(refused.headers["x-rate-limit-reset"])
    assert refused.status_code == 429 and refused.json()["title"] == "Too Many Requests"
    assert reset == int((NOW + timedelta(seconds=900)).timestamp())
    with pytest.raises(RateLimited) as caught:
        x(server, clock).post_reply(TO_TRAFFIC, "Advisory 101")
    assert caught.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert len(server.state.received()) == 100
    clock.now = datetime.fromtimestamp(reset, UTC)
    assert post_tweet(server, "Advisory 102", TO_TRAFFIC).status_code == 201


def test_the_own_timeline_finds_a_reply_the_moment_it_is_posted(server: SandboxServer, clock: Clock) -> None:
    platform = x(server, clock)
    other = platform.post_reply(TO_TRAFFIC, "Thank you, docket BLR-2026-000001")
    reply = platform.post_reply(TO_TRAFFIC, "Registered as BLR-2026-000002 with Hebbal traffic PS and the ACP")
    assert platform.find_reply(TO_TRAFFIC, "BLR-2026-000002") == reply
    assert platform.find_reply(TO_TRAFFIC, "BLR-2026-000001") == other
    assert platform.find_reply(TO_TRAFFIC, "BLR-2026-000099") is None
    assert platform.find_reply(TO_POLICE, "BLR-2026-000002") is None  # the marker, but in another thread
    timeline = requests.get(f"{server.url}/2/users/{TRAFFIC.user_id}/tweets",
                            params={"max_results": "5", "tweet.fields": "referenced_tweets"},
                            headers={"Authorization": "Bearer t"}, timeout=5)
    assert [t["id"] for t in timeline.json()["data"]] == [reply, other]
    assert timeline.json()["data"][0]["referenced_tweets"] == [{"type": "replied_to", "id": TO_TRAFFIC}]
    assert timeline.headers["x-rate-limit-limit"] == "900"
    no_replies = requests.get(f"{server.url}/2/users/{TRAFFIC.user_id}/tweets", params={"exclude": "replies"},
                              headers={"Authorization": "Bearer t"}, timeout=5)
    assert no_replies.json() == {"meta": {"result_count": 0}}


def test_graph_private_reply_once_per_comment(server: SandboxServer, clock: Clock) -> None:
    message = {"recipient": json.dumps({"comment_id": COMMENT}), "message": json.dumps({"text": "Docket BLR-1"})}
    assert graph_post(server, f"{PAGE.page_id}/messages", message).status_code == 200
    again = graph_post(server, f"{PAGE.page_id}/messages", message)
    assert again.status_code == 400
    error = again.json()["error"]
    assert (error["message"], error["code"], error["type"]) == ("(#10900) Activity already replied to", 10900,
                                                                "OAuthException")
    with pytest.raises(ReplyNotAllowed, match="10900"):
        facebook(server, clock).post_private_reply(COMMENT, "Docket BLR-1, again")
    assert facebook(server, clock).post_private_reply(NESTED, "Docket BLR-2").startswith("m_")
    assert [r.in_reply_to for r in server.state.received()] == [COMMENT, NESTED]


def test_graph_private_reply_only_within_7_days_of_the_comment(server: SandboxServer, clock: Clock) -> None:
    with pytest.raises(ReplyNotAllowed, match="code 10, subcode 2018278"):
        facebook(server, clock).post_private_reply(OLD_COMMENT, "Docket BLR-3")
    clock.now = NOW - timedelta(minutes=2)  # the same comment a minute inside its week
    assert facebook(server, clock).post_private_reply(OLD_COMMENT, "Docket BLR-3").startswith("m_")


def test_graph_comment_on_a_deleted_object_answers_code_100_subcode_33(server: SandboxServer, clock: Clock) -> None:
    assert requests.delete(f"{server.url}/_sandbox/posts/facebook/{COMMENT}", timeout=5).status_code == 200
    answer = graph_post(server, f"{COMMENT}/comments", {"message": "Forwarded to Koramangala PS"})
    error = answer.json()["error"]
    assert (answer.status_code, error["code"], error["error_subcode"], error["type"]) == (
        400, 100, 33, "GraphMethodException")
    assert f"Object with ID '{COMMENT}' does not exist" in error["message"]
    with pytest.raises(ParentDeleted):
        facebook(server, clock).post_reply(COMMENT, "Forwarded to Koramangala PS")
    with pytest.raises(ParentDeleted):
        facebook(server, clock).find_reply(COMMENT, "BLR-4")
    assert server.state.received() == []


def test_graph_finds_our_reply_to_a_reply_under_its_top_level_comment(server: SandboxServer, clock: Clock) -> None:
    platform = facebook(server, clock)
    posted = platform.post_reply(NESTED, "Docket BLR-5: forwarded to Koramangala PS")
    assert platform.find_reply(NESTED, "BLR-5") == posted
    assert platform.find_reply(COMMENT, "BLR-5") == posted
    assert platform.find_reply(NESTED, "BLR-6") is None
