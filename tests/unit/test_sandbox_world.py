"""The sandbox's world without HTTP: ids, threads, release order, posting rules, faults and budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox import FacebookPage, FaultSpec, RateBudget, SandboxState, ScenarioPost, XAccount
from sandbox.faults import FaultBook
from sandbox.ratelimit import RateLimiter
from sandbox.state import PostRejected

T0 = datetime(2026, 9, 15, 6, 0, tzinfo=UTC)
PAGE = FacebookPage("104735829586723", "Bengaluru City Police")
TRAFFIC = XAccount("1021737162349010945", "blrcitytraffic")


def x_post(minute: int, text: str = "jam at Hebbal", **kw: Any) -> ScenarioPost:
    return ScenarioPost("x", text, kw.pop("author", "ravi"), T0 + timedelta(minutes=minute), **kw)


def fb_post(minute: int, text: str, **kw: Any) -> ScenarioPost:
    return ScenarioPost("facebook", text, kw.pop("author", "Ravi Kumar"), T0 + timedelta(minutes=minute), **kw)


def world(posts: list[ScenarioPost], **kw: Any) -> SandboxState:
    return SandboxState(posts, x_accounts=[TRAFFIC], facebook_pages=[PAGE], **kw)


def test_x_ids_grow_with_created_at_whatever_the_file_order() -> None:
    state = world([x_post(30, "third"), x_post(1, "first"), x_post(2, "second")])
    tweets = state.posts("x")
    assert [t.text.split()[-1] for t in tweets] == ["first", "second", "third"]
    ids = [int(t.external_id) for t in tweets]
    assert ids == sorted(ids) and len(set(ids)) == 3 and all(len(str(i)) == 19 for i in ids)


def test_a_mention_always_names_the_account() -> None:
    state = world([x_post(1, "signal not working"), x_post(2, "@BLRcitytraffic already named")])
    assert [t.text for t in state.posts("x")] == ["@blrcitytraffic signal not working", "@BLRcitytraffic already named"]


def test_release_shows_posts_in_created_at_order_and_seeds_at_once() -> None:
    state = world([x_post(5, "b"), x_post(1, "a"), fb_post(3, "c")], release_all=False)
    assert state.posts("x") == [] and state.pending_count == 3
    assert len(state.posts("facebook")) == 3  # the seeded page posts
    assert state.release(2) == 2
    assert [p.text[-1] for p in state.posts() if p.source == "scenario"] == ["a", "c"]
    assert state.release(10) == 1 and state.pending_count == 0


def test_graph_ids_and_a_reply_to_a_reply_joins_the_top_level_comment() -> None:
    state = world([
        fb_post(0, "Advisory", kind="page_post", author="Bengaluru City Police", id=f"{PAGE.page_id}_900"),
        fb_post(1, "pothole", id="900_1"),
        fb_post(2, "same here", in_reply_to="900_1", id="900_2"),
        fb_post(3, "me too", in_reply_to="900_2"),
        fb_post(4, "tagging you", kind="tagged", author="Asha"),
    ])
    third = state.posts("facebook")[-2]
    assert third.in_reply_to == "900_1" and third.external_id.startswith("900_")
    tagged = state.posts("facebook")[-1]
    assert tagged.external_id.startswith(PAGE.page_id + "_") and tagged.kind == "tagged"


def test_a_comment_without_a_parent_hangs_on_the_newest_earlier_page_post() -> None:
    state = world([
        fb_post(0, "morning post", kind="page_post", author="Bengaluru City Police"),
        fb_post(60, "noon post", kind="page_post", author="Bengaluru City Police"),
        fb_post(30, "comment at 6:30"),
        fb_post(90, "comment at 7:30"),
    ])
    by_text = {p.text: p for p in state.posts("facebook")}
    assert by_text["comment at 6:30"].in_reply_to == by_text["morning post"].external_id
    assert by_text["comment at 7:30"].in_reply_to == by_text["noon post"].external_id


def test_posting_refuses_duplicates_and_hidden_parents() -> None:
    state = world([x_post(1), x_post(2)], release_all=False)
    state.release(1)
    visible, hidden = state.posts("x", include_hidden=True)
    reply = state.post_tweet(TRAFFIC, "@ravi noted, docket 1", visible.external_id, "/2/tweets")
    assert reply.conversation_id == visible.external_id and int(reply.external_id) > int(hidden.external_id)
    with pytest.raises(PostRejected, match="duplicate"):
        state.post_tweet(TRAFFIC, "@ravi noted, docket 1", visible.external_id, "/2/tweets")
    with pytest.raises(PostRejected, match="parent_missing"):
        state.post_tweet(TRAFFIC, "@ravi other", hidden.external_id, "/2/tweets")
    assert [r.in_reply_to for r in state.received()] == [visible.external_id]


def test_faults_last_for_their_count_or_their_duration() -> None:
    book = FaultBook()
    book.add(FaultSpec("status", platform="x", path="/mentions", count=2), now_s=0)
    book.add(FaultSpec("malformed", platform="facebook", duration_s=10), now_s=0)
    book.add(FaultSpec("timeout"), now_s=0)  # neither: one request, any platform
    assert book.take("x", "GET", "/2/users/1/mentions", 1) is not None
    assert book.take("x", "GET", "/2/users/1/mentions", 2) is not None
    assert book.take("facebook", "GET", "/v24.0/1/feed", 3).kind == "malformed"  # type: ignore[union-attr]
    assert book.take("facebook", "GET", "/v24.0/1/feed", 9).kind == "malformed"  # type: ignore[union-attr]
    assert book.take("facebook", "GET", "/v24.0/1/feed", 11).kind == "timeout"  # type: ignore[union-attr]
    assert book.take("x", "GET", "/2/users/1/mentions", 12) is None


@pytest.mark.parametrize("bad", [{"kind": "explode"}, {"kind": "status", "status": 200}, {"kind": "status", "wat": 1},
                                 {"kind": "timeout", "platform": "myspace"}, {"kind": "status", "count": 0}])
def test_bad_fault_specs_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultSpec.from_json(bad)


def test_budgets_count_per_caller_and_reset_with_the_window() -> None:
    limiter = RateLimiter({"x.mentions": RateBudget(2, 900.0)})
    first = limiter.spend("x.mentions", "token-a", 1000.0)
    assert (first.limit, first.remaining, first.reset_at_s, first.is_allowed) == (2, 1, 1900.0, True)
    assert limiter.spend("x.mentions", "token-a", 1001.0).remaining == 0
    assert not limiter.spend("x.mentions", "token-a", 1002.0).is_allowed
    assert limiter.spend("x.mentions", "token-b", 1002.0).is_allowed  # another token, another bucket
    assert limiter.spend("x.mentions", "token-a", 1900.0).is_allowed  # the window turned
    spent = limiter.exhaust("x.mentions", "token-a", 2000.0, reset_in_s=60.0)
    assert spent.reset_at_s == 2060.0 and not limiter.spend("x.mentions", "token-a", 2059.0).is_allowed
    assert limiter.spend("x.mentions", "token-a", 2060.0).is_allowed
