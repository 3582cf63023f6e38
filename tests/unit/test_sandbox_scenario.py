"""Scenario files: every bad line named in one error; good lines parsed; the built-in demo is sound."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from sandbox import (
    DEMO_FACEBOOK_PAGES,
    DEMO_SCENARIO_PATH,
    DEMO_X_ACCOUNTS,
    ScenarioError,
    ScenarioPost,
    load_scenario,
    parse_scenario,
)
from sandbox.posts import Directory, build_store

DEMO_DIRECTORY = Directory(DEMO_X_ACCOUNTS, DEMO_FACEBOOK_PAGES)

GOOD = {"platform": "x", "text": "@blrcitytraffic jam at Hebbal", "author": "ravi", "created_at": "2026-09-15T07:00:00Z"}


def line(**changes: object) -> str:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not None})


BAD_LINES = [
    (line(text=None), "missing field(s) text"),
    (line(author=None, created_at=None), "missing field(s) author, created_at"),
    (line(platform="instagram"), "unknown platform 'instagram'"),
    (line(created_at="2026-13-01T00:00:00Z"), "bad created_at '2026-13-01T00:00:00Z'"),
    (line(created_at="2026-09-15T07:00:00"), "has no timezone"),
    ("{not json", "not JSON"),
    ("[1, 2]", "want a JSON object"),
    (line(lat=12.9), "lat and lon go together"),
    (line(lat=95.0, lon=77.6), "lat 95.0 is outside -90..90"),
    (line(lat="12.9", lon=77.6), "lat must be a number"),
    (line(kind="comment"), "unknown kind 'comment' for x"),
    (line(id="abc"), "X id 'abc' must be 1-19 digits"),
    (line(platform="facebook", kind="retweet"), "unknown kind 'retweet' for facebook"),
    (line(text=42), "text must be a string"),
]


def test_every_bad_line_is_named_in_one_error() -> None:
    lines = [line()]  # line 1 is good
    for bad, _ in BAD_LINES:
        lines.append(bad)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(lines)
    problems = caught.value.problems
    assert len(problems) == len(BAD_LINES)
    for number, ((_, why), problem) in enumerate(zip(BAD_LINES, problems, strict=True), start=2):
        assert problem.startswith(f"line {number}: "), problem
        assert why in problem, (why, problem)


def test_duplicate_ids_name_both_lines() -> None:
    lines = [line(id="1800000000000000001"), "", line(id="1800000000000000001")]
    with pytest.raises(ScenarioError, match="line 3: id '1800000000000000001' already used on line 1"):
        parse_scenario(lines)


def test_good_line_defaults_and_aliases() -> None:
    (post,) = parse_scenario([line(platform="Twitter", author="@ravi", created_at="2026-09-15T12:30:00+05:30")])
    assert post.platform == "x" and post.kind == "mention" and post.author == "ravi"
    assert post.created_at == datetime(2026, 9, 15, 7, 0, tzinfo=UTC)
    assert post.created_at.tzinfo is UTC
    (comment,) = parse_scenario([line(platform="facebook", author="Ravi Kumar", extra_label="theft")])
    assert comment.kind == "comment" and comment.account is None  # unknown fields are ignored


def test_a_reply_to_a_post_that_is_not_earlier_is_refused() -> None:
    directory = DEMO_DIRECTORY
    later = ScenarioPost("x", "first", "a", datetime(2026, 9, 15, 9, tzinfo=UTC), id="2000")
    reply = ScenarioPost("x", "reply", "b", datetime(2026, 9, 15, 8, tzinfo=UTC), in_reply_to="2000")
    with pytest.raises(ScenarioError, match="in_reply_to 2000 is not an earlier post"):
        build_store([later, reply], directory)
    stranger = ScenarioPost("x", "hi", "c", datetime(2026, 9, 15, 8, tzinfo=UTC), account="nobody")
    with pytest.raises(ScenarioError, match="no X account 'nobody'"):
        build_store([stranger], directory)


def test_the_demo_scenario_is_a_realistic_bengaluru_day() -> None:
    posts = load_scenario(DEMO_SCENARIO_PATH)
    assert 100 <= len(posts) <= 150
    accounts = Counter(p.account for p in posts)
    assert set(accounts) == {"blrcitytraffic", "BlrCityPolice", "104735829586723"}
    geo = [p for p in posts if p.lat is not None and p.lon is not None]
    assert 0.25 <= len(geo) / len(posts) <= 0.35
    assert all(12.85 <= p.lat <= 13.10 and 77.50 <= p.lon <= 77.75 for p in geo)  # type: ignore[operator]
    assert sum(p.in_reply_to is not None for p in posts) >= 6
    assert any("\u0c80" <= ch <= "\u0cff" for p in posts for ch in p.text)  # Kannada script
    assert any("\u0900" <= ch <= "\u097f" for p in posts for ch in p.text)  # Devanagari
    assert Counter(p.kind for p in posts if p.platform == "facebook").keys() == {"comment", "tagged", "page_post"}
    days = {p.created_at.date() for p in posts if p.kind != "page_post"}
    assert len(days) <= 2 and min(days).year == 2026
    build_store(posts, DEMO_DIRECTORY)  # every thread resolves
