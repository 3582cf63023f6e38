"""python-facebook-api 0.24 (``pyfacebook``) against the sandbox's Graph API on a real port."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from pyfacebook import FacebookApi, FacebookError, GraphAPI

from sandbox import FacebookPage, FaultSpec, RateBudget, SandboxServer, ScenarioPost

PAGE = FacebookPage("104735829586723", "Bengaluru City Police", access_token="page-token")
T0 = datetime(2026, 9, 15, 0, 30, tzinfo=UTC)
POST_A, POST_B = f"{PAGE.page_id}_122145000000000001", f"{PAGE.page_id}_122145000000000002"


def fb(minute: int, text: str, *, author: str | None = None, **kw: Any) -> ScenarioPost:
    return ScenarioPost("facebook", text, author or f"Resident {minute % 9}", T0 + timedelta(minutes=minute),
                        account=PAGE.page_id, **kw)


def scenario() -> list[ScenarioPost]:
    posts = [
        fb(0, "Traffic advisory for today", kind="page_post", author=PAGE.name, id=POST_A),
        fb(1, "Dial 112 in an emergency", kind="page_post", author=PAGE.name, id=POST_B),
        fb(2, "Older advisory", kind="page_post", author=PAGE.name),
    ]
    posts += [fb(10 + i, f"complaint {i} on A", in_reply_to=POST_A, id=f"122145000000000001_{500 + i}")
              for i in range(23)]
    posts += [fb(40 + i, f"reply {i} to complaint 3", in_reply_to="122145000000000001_503") for i in range(4)]
    posts += [fb(50 + i, f"complaint {i} on B", in_reply_to=POST_B) for i in range(5)]
    posts += [fb(60 + i, f"tagged post {i}", kind="tagged", lat=12.97, lon=77.59, place="Cubbon Park")
              for i in range(8)]
    return posts


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(scenario(), facebook_pages=[PAGE], x_accounts=[]) as running:
        yield running


def graph(server: SandboxServer, token: str = "page-token") -> GraphAPI:
    return GraphAPI(access_token=token, base_url=server.graph_url, sleep_on_rate_limit=False)


def test_comment_stream_pages_through_paging_next_and_gets_each_comment_once(server: SandboxServer) -> None:
    api = graph(server)
    data = api.get_full_connections(POST_A, "comments", count=None, limit=5, filter="stream",
                                    fields="id,message,created_time,from{id,name},parent{id}")
    messages = [c["message"] for c in data["data"]]
    assert len(messages) == len(set(messages)) == 27
    assert messages[:4] == ["complaint 0 on A", "complaint 1 on A", "complaint 2 on A", "complaint 3 on A"]
    replies = [c for c in data["data"] if c["message"].startswith("reply")]
    assert {c["parent"]["id"] for c in replies} == {"122145000000000001_503"}
    assert all("parent" not in c for c in data["data"] if c["message"].startswith("complaint"))
    assert server.state.request_count(path_contains="/comments") == 6  # 27 comments, 5 a page


def test_toplevel_comments_with_summary_and_cursors(server: SandboxServer) -> None:
    response = FacebookApi(access_token="page-token", base_url=server.graph_url).post.get_comments(
        POST_A, summary=True, count=None, limit=10)
    assert len(response.data) == 23 and response.summary.total_count == 23
    page = graph(server).get_connection(POST_A, "comments", limit=10)
    assert set(page["paging"]["cursors"]) == {"before", "after"} and page["paging"]["next"].startswith(server.url)
    last = graph(server).get_connection(POST_A, "comments", limit=10, after=page["paging"]["cursors"]["after"])
    final = graph(server).get_connection(POST_A, "comments", limit=10, after=last["paging"]["cursors"]["after"])
    assert len(final["data"]) == 3 and "next" not in final["paging"]


def test_feed_pages_newest_first_with_nested_comments(server: SandboxServer) -> None:
    feed = FacebookApi(access_token="page-token", base_url=server.graph_url).page.get_feed(
        PAGE.page_id, fields="id,message,created_time,comments.filter(stream).limit(3){id,message}",
        count=None, limit=1)
    assert [p.message for p in feed.data] == ["Older advisory", "Dial 112 in an emergency",
                                               "Traffic advisory for today"]
    newest = feed.data[0]
    assert newest.comments == {"data": []}
    on_a = feed.data[2].comments
    assert [c["message"] for c in on_a["data"]] == ["complaint 0 on A", "complaint 1 on A", "complaint 2 on A"]
    rest = requests.get(on_a["paging"]["next"], timeout=5).json()
    assert rest["data"][0]["message"] == "complaint 3 on A" and set(rest["data"][0]) == {"id", "message"}


def test_tagged_posts_page_once_each_with_their_place(server: SandboxServer) -> None:
    tagged = FacebookApi(access_token="page-token", base_url=server.graph_url).page.get_tagged_posts(
        PAGE.page_id, fields="id,message,created_time,from{id,name},place,tagged_time", count=None, limit=3)
    assert [p.message for p in tagged.data] == [f"tagged post {i}" for i in reversed(range(8))]
    assert tagged.data[0].place.name == "Cubbon Park" and tagged.data[0]._from["name"] == "Resident 4"
    # pyfacebook's Location types latitude as int (12.97 -> 12): read coordinates from the JSON
    raw = FacebookApi(access_token="page-token", base_url=server.graph_url).page.get_tagged_posts(
        PAGE.page_id, fields="id,place", count=1, limit=1, return_json=True)
    assert raw["data"][0]["place"]["location"]["latitude"] == 12.97


def test_posting_a_comment_records_it_and_the_page_sees_its_own_reply(server: SandboxServer) -> None:
    api = graph(server)
    target = "122145000000000001_503"
    created = api.post_object(target, "comments", data={"message": "Forwarded to Cubbon Park PS, docket BLR-9"})
    (received,) = server.state.received()
    assert (received.platform, received.in_reply_to, received.id, received.account) == (
        "facebook", target, created["id"], PAGE.page_id)
    stream = api.get_connection(POST_A, "comments", filter="stream", limit=100, fields="id,message,from,parent")
    own = [c for c in stream["data"] if c["from"]["id"] == PAGE.page_id]
    assert [c["id"] for c in own] == [created["id"]] and own[0]["parent"]["id"] == target
    with_fields = api.post_object(POST_B, "comments", params={"fields": "id,message,created_time,permalink_url"},
                                  data={"message": "Noted"})
    assert set(with_fields) == {"id", "message", "created_time", "permalink_url"}
    with pytest.raises(FacebookError) as empty:
        api.post_object(POST_B, "comments", data={"message": ""})
    assert empty.value.code == 100


def test_me_and_the_page_node(server: SandboxServer) -> None:
    assert graph(server).get_object("me") == {"id": PAGE.page_id, "name": PAGE.name}
    page = FacebookApi(access_token="page-token", base_url=server.graph_url).page.get_info(
        PAGE.page_id, fields="id,name,link")
    assert page.name == PAGE.name and page.id == PAGE.page_id


def test_usage_headers_feed_pyfacebooks_rate_limit_and_a_spent_budget_throttles() -> None:
    with SandboxServer(scenario(), facebook_pages=[PAGE], x_accounts=[],
                       rate_limits={"facebook": RateBudget(limit=4, window_s=3600.0)}) as server:
        api = graph(server)
        api.get_object("me")
        api.get_connection(POST_A, "comments")
        usage = api.rate_limit.get_limit(PAGE.page_id, "pages")
        assert usage.call_count == 50 and usage.estimated_time_to_regain_access == 0
        assert api.rate_limit.get_limit().call_count == 50
        api.get_object("me")
        api.get_object("me")
        with pytest.raises(FacebookError) as throttled:
            api.get_object("me")
        assert throttled.value.code == 32
        assert api.rate_limit.get_limit(PAGE.page_id, "pages").estimated_time_to_regain_access == 60
        raw = requests.get(f"{server.url}/v24.0/me", params={"access_token": "x"}, timeout=5)
        assert raw.status_code == 400 and raw.json()["error"]["message"] == "(#32) Page request limit reached"


def test_faults_answer_like_graph(server: SandboxServer) -> None:
    api = graph(server)
    server.state.add_fault(FaultSpec("expired_token", platform="facebook"))
    with pytest.raises(FacebookError) as expired:
        api.get_object("me")
    assert (expired.value.code, expired.value.error_subcode) == (190, 463)
    assert "Session has expired" in expired.value.message
    server.state.add_fault(FaultSpec("status", platform="facebook", status=503, path="/comments"))
    with pytest.raises(FacebookError) as unavailable:
        api.get_connection(POST_A, "comments")
    assert unavailable.value.code == 2
    server.state.add_fault(FaultSpec("malformed", platform="*"))
    with pytest.raises(requests.JSONDecodeError):
        api.get_connection(POST_A, "comments")
    server.state.add_fault(FaultSpec("rate_limit", platform="facebook", reset_in_s=120))
    with pytest.raises(FacebookError) as throttled:
        api.get_object("me")
    assert throttled.value.code == 32
    assert api.rate_limit.get_limit(PAGE.page_id, "pages").estimated_time_to_regain_access == 2


def test_a_corrupt_item_fault_breaks_only_its_target_and_is_set_over_http(server: SandboxServer) -> None:
    base = f"{server.url}/_sandbox"
    target = "122145000000000001_505"
    fault: dict[str, Any] = {"kind": "corrupt_item", "corruption": "from_string", "target": target, "platform": "facebook",
             "duration_s": 60}
    assert requests.post(f"{base}/faults", json=fault, timeout=5).status_code == 201
    assert requests.post(f"{base}/faults", json={**fault, "corruption": "boom"}, timeout=5).status_code == 400
    assert requests.post(f"{base}/faults", json={"kind": "corrupt_item"}, timeout=5).status_code == 400
    assert requests.post(f"{base}/faults", json={"kind": "status", "corruption": "bad_time"}, timeout=5).status_code == 400
    comments = graph(server).get_connection(POST_A, "comments", limit=100)["data"]
    shapes = {c["id"]: type(c["from"]).__name__ for c in comments}
    assert shapes.pop(target) == "str" and set(shapes.values()) == {"dict"} and len(shapes) == 22
    # nested in the feed too, the same item and no other
    feed = graph(server).get_connection(PAGE.page_id, "feed", fields="id,comments.limit(100){id,from}")["data"]
    nested = [c for post in feed for c in post["comments"]["data"]]
    assert [c["id"] for c in nested if not isinstance(c["from"], dict)] == [target]


@pytest.mark.parametrize(
    ("corruption", "field", "check"),
    [
        ("null_text", "message", lambda v: v is None),
        ("text_not_string", "message", lambda v: v == ["complaint 0 on A"]),
        ("broken_unicode", "message", lambda v: v == "complaint 0 on A\ud83d"),
        ("nul_name", "from", lambda v: "\x00" in v["name"] and v["name"].replace("\x00", "") == "Resident 1"),
        ("long_name", "from", lambda v: len(v["name"]) >= 5000),
        ("bad_time", "created_time", lambda v: v.startswith("2026-13-")),
        ("from_list", "from", lambda v: isinstance(v, list) and v[0]["name"] == "Resident 1"),
    ],
)
def test_each_corruption_is_json_of_the_wrong_shape_in_the_first_item_only(
    server: SandboxServer, corruption: str, field: str, check: Callable[[Any], bool]
) -> None:
    server.state.add_fault(FaultSpec("corrupt_item", platform="facebook", corruption=corruption))
    answer = requests.get(f"{server.url}/v24.0/{POST_A}/comments", timeout=5,
                          params={"access_token": "page-token", "fields": "id,message,from,created_time"})
    first, *rest = answer.json()["data"]
    assert check(first[field])
    assert all(isinstance(c["from"], dict) and c["created_time"].startswith("2026-09-") for c in rest)


def test_missing_token_unknown_objects_and_bad_fields(server: SandboxServer) -> None:
    no_token = requests.get(f"{server.url}/v24.0/{PAGE.page_id}/feed", timeout=5)
    assert no_token.status_code == 400 and no_token.json()["error"]["code"] == 104
    with pytest.raises(FacebookError) as unknown:
        graph(server).get_connection("999_999", "comments")
    assert (unknown.value.code, unknown.value.error_subcode) == (100, 33)
    with pytest.raises(FacebookError) as syntax:
        graph(server).get_object(POST_A, fields="id,comments{id")
    assert syntax.value.code == 2500
    bearer = requests.get(f"{server.url}/v24.0/me", headers={"Authorization": "Bearer page-token"}, timeout=5)
    assert bearer.json()["id"] == PAGE.page_id


def test_control_endpoints_over_http(server: SandboxServer) -> None:
    base = f"{server.url}/_sandbox"
    added = requests.post(f"{base}/faults", json={"kind": "status", "status": 502, "platform": "facebook",
                                                  "count": 2}, timeout=5)
    assert added.status_code == 201
    assert requests.post(f"{base}/faults", json={"kind": "boom"}, timeout=5).status_code == 400
    assert [f["status"] for f in requests.get(f"{base}/faults", timeout=5).json()] == [502]
    assert requests.get(f"{server.url}/v24.0/me?access_token=t", timeout=5).status_code == 502
    assert requests.delete(f"{base}/faults", timeout=5).json() == {"cleared": True}
    assert requests.get(f"{server.url}/v24.0/me?access_token=t", timeout=5).status_code == 200
    injected = requests.post(f"{base}/posts", json={"platform": "facebook", "text": "new comment",
                                                    "author": "Asha", "in_reply_to": POST_B}, timeout=5).json()
    assert injected["id"].startswith("122145000000000002_")
    graph(server).post_object(injected["id"], "comments", data={"message": "We are on it"})
    received = requests.get(f"{base}/received", timeout=5).json()
    assert [(r["in_reply_to"], r["text"]) for r in received] == [(injected["id"], "We are on it")]
    stats = requests.get(f"{base}/stats", timeout=5).json()
    assert stats["by_path"]["GET /v24.0/me"] == {"200": 1, "502": 1}
    assert stats["received"] == 1 and stats["posts"]["pending"] == 0
    accounts = requests.get(f"{base}/accounts", timeout=5).json()
    assert accounts == [{"platform": "facebook", "page_id": PAGE.page_id, "name": PAGE.name}]


def test_private_reply_to_a_comment_is_recorded() -> None:
    with SandboxServer(scenario(), facebook_pages=[PAGE], x_accounts=[], clock=lambda: T0 + timedelta(days=1)) as server:
        private_reply_to_a_fresh_comment(server)


def private_reply_to_a_fresh_comment(server: SandboxServer) -> None:
    """Graph allows a private reply within 7 days of the comment: the sandbox's clock is a day after it."""
    answer = graph(server).post_object(PAGE.page_id, "messages", data={
        "recipient": json.dumps({"comment_id": "122145000000000001_501"}),
        "message": json.dumps({"text": "Please share your phone number privately"})})
    assert answer["message_id"].startswith("m_") and answer["recipient_id"]
    (received,) = server.state.received()
    assert received.in_reply_to == "122145000000000001_501" and received.path.endswith("/messages")
