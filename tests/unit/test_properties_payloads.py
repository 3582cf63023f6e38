"""Property tests: the X and Graph adapters on arbitrary JSON (issue 12, item 6).

Whatever a platform answers, ``fetch`` yields pages of well-formed posts or raises one of the platform errors
(``BadPayload`` for a container it cannot read); nothing else escapes, and an item that cannot be read never
costs the good items beside it. The answers are served at the wire: ``requests``' ``HTTPAdapter.send`` returns
the generated body, so tweepy and pyfacebook build, send and parse each call as they do against the real APIs.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from models.posts import FetchedMention
from monitor.facebook import FacebookPlatform
from monitor.platform import Page, PlatformError
from monitor.twitter import TwitterPlatform
from tests.builders import make_facebook_page, make_x_account

# Under CI the same examples every run; PROPERTY_EXAMPLES=10 explores ten times as many, afresh each run.
SCALE = int(os.environ.get("PROPERTY_EXAMPLES", "1"))
PROPERTY = settings(
    max_examples=40 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
X_USER = make_x_account().user_id
PAGE_ID = make_facebook_page().key
HUGE = "Signal jumping at Silk Board " * 3_500  # ~100 KB

# ---- arbitrary JSON-ish values ------------------------------------------------------------------------------

AWKWARD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "1900000000000000001",
        "2026-11-20T09:30:00.000Z",
        "2026-11-20T09:30:00+0000",
        "yesterday",
        "\ud800 lone surrogate",
        "\x00\x1b[31m",
        "🙏" * 50,
        HUGE,
        "null",
        "{}",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | AWKWARD_STRINGS
)
FIELD_NAMES = st.sampled_from(
    ["id", "text", "message", "created_at", "created_time", "author_id", "from", "geo", "place", "coordinates",
     "bbox", "referenced_tweets", "parent", "name", "username", "data", "paging", "meta", "comments"]
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(FIELD_NAMES | st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


REMOVE = object()


def mutated(item: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``item`` with some of its fields replaced by arbitrary values, or removed."""
    keys = sorted(item)
    changes = st.dictionaries(st.sampled_from(keys) | FIELD_NAMES, JSONISH | st.just(REMOVE), min_size=1, max_size=4)
    return changes.map(lambda c: {k: v for k, v in {**item, **c}.items() if v is not REMOVE})


# ---- the wire ------------------------------------------------------------------------------------------------


@dataclass
class Wire:
    """Answers each request with the next body queued for its path's last part (``mentions``, ``feed``), then
    with an empty page; a body is JSON-encoded unless it is already bytes."""

    bodies: dict[str, list[Any]] = field(default_factory=dict)
    empty: dict[str, Any] = field(default_factory=lambda: {"data": [], "meta": {"result_count": 0}})

    def send(self, adapter: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        assert url.startswith("https://"), url  # the real hosts: nothing leaves this process
        endpoint = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        queue = self.bodies.get(endpoint, [])
        body = queue.pop(0) if queue else self.empty
        response = requests.Response()
        response.status_code = 200
        response.headers["content-type"] = "application/json; charset=UTF-8"
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.url, response.request, response.encoding = url, request, "utf-8"
        return response


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    wire = Wire()
    monkeypatch.setattr(HTTPAdapter, "send", lambda adapter, request, *a, **k: wire.send(adapter, request, *a, **k))
    return wire


def read_all(fetch: Callable[[], Iterator[Page]]) -> list[Page] | PlatformError:
    """Every page of one fetch, or the platform error it ended with; any other exception fails the test."""
    pages: list[Page] = []
    try:
        for page in fetch():
            pages.append(page)
            assert len(pages) < 100, "a fetch that never ends"
    except PlatformError as exc:
        return exc
    return pages


def assert_well_formed(mention: FetchedMention, platform: str) -> None:
    assert mention.platform == platform
    assert isinstance(mention.external_id, str) and mention.external_id
    assert isinstance(mention.text, str)
    assert mention.created_at.utcoffset() is not None
    for number in (mention.lat, mention.lon):
        assert number is None or isinstance(number, float)
    for value in (mention.author_id, mention.author_handle, mention.author_name, mention.place_name):
        assert value is None or isinstance(value, str)


def assert_skips_logged(items: list[Any], mentions: list[FetchedMention], caplog: pytest.LogCaptureFixture) -> None:
    """An item that did not become a post was skipped out loud: a WARNING says so, by id, never by its text."""
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "skipped" in r.getMessage()]
    assert len(mentions) <= len(items)
    assert (len(mentions) < len(items)) <= bool(warnings), (items, warnings)
    assert not any("Signal jumping at Silk Board" in w or "Pothole" in w for w in warnings)


# ---- X ------------------------------------------------------------------------------------------------------


def x_tweet(n: int, text: str = "Signal jumping at Silk Board") -> dict[str, Any]:
    return {
        "id": str(1900000000000000000 + n),
        "text": f"{text} {n}",
        "created_at": "2026-11-20T09:30:00.000Z",
        "author_id": "42",
        "conversation_id": str(1900000000000000000 + n),
        "geo": {"place_id": "p1"},
    }


X_INCLUDES = {
    "users": [{"id": "42", "username": "citizen", "name": "A Citizen"}],
    "places": [{"id": "p1", "full_name": "Koramangala", "geo": {"bbox": [77.6, 12.9, 77.7, 13.0]}}],
}


@st.composite
def x_pages(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A mentions page: good tweets, and bad ones (arbitrary values, or good ones with fields broken) and broken
    includes beside them; the page's containers stay readable. Returns the page and the good tweets' ids."""
    n_good = draw(st.integers(0, 4))
    good = [x_tweet(n, draw(st.sampled_from(["Signal jumping", HUGE, "🙏🙏", "ಸಿಲ್ಕ್ ಬೋರ್ಡ್ jam"]))) for n in range(n_good)]
    bad = draw(st.lists(JSONISH | mutated(x_tweet(0) | {"id": "1800000000000000001"}), max_size=5))
    tweets = draw(st.permutations(good + bad))
    includes = json.loads(json.dumps(X_INCLUDES))
    includes["users"] += draw(st.lists(JSONISH, max_size=2))
    includes["places"] += draw(st.lists(JSONISH, max_size=2))
    if draw(st.booleans()):
        includes["tweets"] = draw(JSONISH)
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if draw(st.booleans()) and good:
        meta["newest_id"] = max(t["id"] for t in good)
    elif draw(st.booleans()):
        meta["newest_id"] = draw(JSONISH)
    return {"data": tweets, "includes": includes, "meta": meta}, {t["id"] for t in good}


@PROPERTY
@given(x_pages())
@example(({"data": [x_tweet(1), {"id": "1800000000000000001", "created_at": None}, "RT", None], "meta": {}}, {"1900000000000000001"}))
@example(({"data": [x_tweet(1), x_tweet(2) | {"id": "1800000000000000002", "created_at": "9999-12-31T23:59:59.000-23:59"}],
           "meta": {}}, {"1900000000000000001"}))  # found: a time past the last UTC one raised OverflowError
def test_a_bad_tweet_never_costs_the_good_ones_beside_it(
    wire: Wire, caplog: pytest.LogCaptureFixture, generated: tuple[dict[str, Any], set[str]]
) -> None:
    body, good_ids = generated
    wire.bodies = {"mentions": [body]}
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="monitor.payload"):
        pages = read_all(lambda: TwitterPlatform(make_x_account(), now=lambda: NOW).fetch(None))
    assert isinstance(pages, list), f"the page's containers were readable, yet: {pages!r}"
    mentions = [m for page in pages for m in page.mentions]
    for mention in mentions:
        assert_well_formed(mention, "x")
    assert good_ids <= {m.external_id for m in mentions}
    assert_skips_logged(body["data"], mentions, caplog)
    assert pages[-1].is_last
    if good_ids and not isinstance(body["meta"].get("newest_id"), str):
        assert pages[-1].cursor is not None and int(pages[-1].cursor) >= max(int(i) for i in good_ids)


@PROPERTY
@given(JSONISH | mutated({"data": [x_tweet(1)], "includes": X_INCLUDES, "meta": {"result_count": 1, "next_token": "t"}}))
def test_any_mentions_answer_is_posts_or_a_platform_error(wire: Wire, body: Any) -> None:
    wire.bodies = {"mentions": [body, body]}
    pages = read_all(lambda: TwitterPlatform(make_x_account(), now=lambda: NOW).fetch(None))
    if isinstance(pages, list):
        for mention in (m for page in pages for m in page.mentions):
            assert_well_formed(mention, "x")


# ---- Graph (Facebook) ---------------------------------------------------------------------------------------


def fb_comment(n: int, text: str = "Pothole near Sony World junction") -> dict[str, Any]:
    return {
        "id": f"{PAGE_ID}_1_{n}",
        "message": f"{text} {n}",
        "created_time": "2026-11-20T09:30:00+0000",
        "from": {"id": "777", "name": "A Citizen"},
        "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/1?comment_id={n}",
    }


def fb_tagged(n: int) -> dict[str, Any]:
    return {
        "id": f"888_{n}",
        "message": f"Chain snatching at Jayanagar {n}",
        "created_time": "2026-11-20T10:00:00+0000",
        "from": {"id": "888", "name": "Another Citizen"},
        "place": {"name": "Jayanagar", "location": {"latitude": 12.93, "longitude": 77.58}},
    }


def not_a_time(value: Any) -> bool:
    """Whether the adapter cannot read ``value`` as a time (an old time would end the scan, rightly)."""
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "+0000" not in value
    return False


@st.composite
def graph_answers(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """The feed (one page post with good and bad comments, and bad page posts beside it) and the tagged posts
    (good and bad); the containers stay readable. Returns both and the good items' ids."""
    comments = [fb_comment(n, draw(st.sampled_from(["Pothole", HUGE, "🙏", "ಗುಂಡಿ ಇದೆ"]))) for n in range(draw(st.integers(0, 3)))]
    bad_comments = draw(st.lists(JSONISH | mutated(fb_comment(9) | {"id": f"{PAGE_ID}_1_bad"}), max_size=4))
    post = {
        "id": f"{PAGE_ID}_1",
        "created_time": "2026-11-20T08:00:00+0000",
        "comments": {"data": draw(st.permutations(comments + bad_comments)), "paging": {"cursors": {"after": "x"}}},
    }
    bad_posts = draw(
        st.lists(
            JSONISH.filter(lambda v: not isinstance(v, dict))
            | st.fixed_dictionaries({"id": JSONISH, "created_time": JSONISH.filter(not_a_time)}),
            max_size=3,
        )
    )
    tagged = [fb_tagged(n) for n in range(draw(st.integers(0, 3)))]
    bad_tagged = draw(st.lists(JSONISH | mutated(fb_tagged(9) | {"id": "888_bad"}), max_size=4))
    feed = {"data": draw(st.permutations([post, *bad_posts])), "paging": {}}
    good_ids = {c["id"] for c in comments} | {t["id"] for t in tagged}
    return feed, {"data": draw(st.permutations(tagged + bad_tagged))}, good_ids


@PROPERTY
@given(graph_answers())
@example(({"data": [{"id": f"{PAGE_ID}_1", "created_time": "2026-11-20T08:00:00+0000",
                     "comments": {"data": [{"id": "x", "from": "Leela"}, fb_comment(1)]}}, "Leela"]},
          {"data": [fb_tagged(1), {"id": "888_2", "created_time": "2026-11-20T10:00:00+0000", "from": []}]},
          {f"{PAGE_ID}_1_1", "888_1"}))
@example(({"data": [{"id": f"{PAGE_ID}_2", "created_time": "0001-01-01T00:00:00+2359"},
                     {"id": f"{PAGE_ID}_1", "created_time": "2026-11-20T08:00:00+0000",
                      "comments": {"data": [fb_comment(1) | {"id": "c9", "created_time": "9999-12-31T23:59:59-2359"},
                                            fb_comment(2)]}}]},
          {"data": []}, {f"{PAGE_ID}_1_2"}))  # found: a time past the last UTC one raised OverflowError
def test_a_bad_comment_never_costs_the_good_ones_beside_it(
    wire: Wire, caplog: pytest.LogCaptureFixture, generated: tuple[dict[str, Any], dict[str, Any], set[str]]
) -> None:
    feed, tagged, good_ids = generated
    wire.bodies = {"feed": [feed], "tagged": [tagged]}
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="monitor.payload"):
        pages = read_all(lambda: FacebookPlatform(make_facebook_page(), now=lambda: NOW).fetch(None))
    assert isinstance(pages, list), f"the answers' containers were readable, yet: {pages!r}"
    mentions = [m for page in pages for m in page.mentions]
    for mention in mentions:
        assert_well_formed(mention, "facebook")
    assert good_ids <= {m.external_id for m in mentions}
    comments = [c for post in feed["data"] if isinstance(post, dict) for c in post.get("comments", {}).get("data", [])]
    assert_skips_logged([*comments, *tagged["data"]], mentions, caplog)
    if good_ids:
        assert pages[-1].cursor is not None


@PROPERTY
@given(JSONISH | mutated({"data": [{"id": f"{PAGE_ID}_1", "created_time": "2026-11-20T08:00:00+0000",
                                    "comments": {"data": [fb_comment(1)]}}], "paging": {}}), JSONISH)
@example(feed=None, tagged=None)  # found: pyfacebook raised TypeError on a body of null (monitor/facebook.py)
def test_any_graph_answer_is_posts_or_a_platform_error(wire: Wire, feed: Any, tagged: Any) -> None:
    wire.bodies = {"feed": [feed], "tagged": [tagged], "comments": [feed]}
    pages = read_all(lambda: FacebookPlatform(make_facebook_page(), now=lambda: NOW).fetch(None))
    if isinstance(pages, list):
        for mention in (m for page in pages for m in page.mentions):
            assert_well_formed(mention, "facebook")


# ---- bodies no JSON encoder writes ---------------------------------------------------------------------------

RAW_BODIES = {
    "deep nesting": b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "deep objects": b'{"data": [' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"]}",
    "not UTF-8": b'{"data": [{"id": "1900000000000000001", "text": "\xff\xfe\xc3("}]}',
    "truncated": b'{"data": [{"id": "1900000000000000001", "te',
    "empty": b"",
    "HTML": b"<html><body>502 Bad Gateway</body></html>",
    "NaN everywhere": b'{"data": NaN, "meta": Infinity, "paging": -Infinity}',
    "a lone surrogate escape": b'{"data": [{"id": "1900000000000000001", "text": "\\udc00", '
    b'"created_at": "2026-11-20T09:30:00.000Z", "author_id": "42"}], "meta": {}}',
}


@pytest.mark.parametrize("body", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_a_body_that_is_not_json_is_a_platform_error_or_read(wire: Wire, body: bytes) -> None:
    wire.bodies = {"mentions": [body], "feed": [body], "tagged": [body]}
    for fetch in (
        lambda: TwitterPlatform(make_x_account(), now=lambda: NOW).fetch(None),
        lambda: FacebookPlatform(make_facebook_page(), now=lambda: NOW).fetch(None),
    ):
        pages = read_all(fetch)
        if isinstance(pages, list):
            for mention in (m for page in pages for m in page.mentions):
                assert isinstance(mention.text, str)


# ---- answers that would never end -----------------------------------------------------------------------------


class Repeating(Wire):
    """A platform that answers every call with the same page, which always says there is a next one."""

    def send(self, adapter: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.bodies = {name: [page] for name, page in self.pages.items()}
        return super().send(adapter, request, *args, **kwargs)

    pages: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def repeating(monkeypatch: pytest.MonkeyPatch) -> Repeating:
    wire = Repeating()
    monkeypatch.setattr(HTTPAdapter, "send", lambda adapter, request, *a, **k: wire.send(adapter, request, *a, **k))
    return wire


def test_a_next_token_that_never_changes_ends_the_fetch(repeating: Repeating) -> None:
    repeating.pages = {"mentions": {"data": [x_tweet(1)], "includes": X_INCLUDES, "meta": {"next_token": "same"}}}
    assert isinstance(read_all(lambda: TwitterPlatform(make_x_account(), now=lambda: NOW).fetch(None)), PlatformError)
    post = {"id": f"{PAGE_ID}_1", "created_time": "2026-11-20T08:00:00+0000",
            "comments": {"data": [fb_comment(1)], "paging": {"next": "https://graph/x?after=same", "cursors": {"after": "same"}}}}
    paging = {"next": "https://graph/x?after=same", "cursors": {"after": "same"}}
    repeating.pages = {"feed": {"data": [post], "paging": paging}, "tagged": {"data": [], "paging": paging},
                       "comments": {"data": [fb_comment(2)], "paging": paging}}
    assert isinstance(read_all(lambda: FacebookPlatform(make_facebook_page(), now=lambda: NOW).fetch(None)), PlatformError)
