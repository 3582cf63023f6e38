"""Graph field syntax as clients send it, X search queries and the opaque tokens both platforms use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.fields import FieldSpec, FieldSyntaxError, format_fields, parse_fields
from sandbox.ids import decode_cursor, decode_x_token, encode_cursor, encode_x_token, graph_time, snowflake_at, x_time
from sandbox.posts import StoredPost
from sandbox.twitter_api import tweet_length
from sandbox.twitter_search import QueryError, compile_query

PYFACEBOOK_DEFAULT = (
    "id,attachments{title,type,url},created_time,message,"
    "comments.filter(stream).summary(true).limit(0),"
    "reactions.type(LIKE).limit(0).summary(total_count).as(like)"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,message", (FieldSpec("id"), FieldSpec("message"))),
        (" id , message ", (FieldSpec("id"), FieldSpec("message"))),
        ("from{id,name}", (FieldSpec("from", {}, (FieldSpec("id"), FieldSpec("name"))),)),
        (
            "comments.limit(5).filter(stream).order(reverse_chronological){id,parent{id}}",
            (
                FieldSpec(
                    "comments",
                    {"limit": "5", "filter": "stream", "order": "reverse_chronological"},
                    (FieldSpec("id"), FieldSpec("parent", {}, (FieldSpec("id"),))),
                ),
            ),
        ),
        ("reactions.type(LIKE).as(like)", (FieldSpec("reactions", {"type": "LIKE", "as": "like"}),)),
    ],
)
def test_graph_fields_parse(text: str, expected: tuple[FieldSpec, ...]) -> None:
    assert parse_fields(text) == expected


def test_pyfacebook_default_post_fields_parse_and_round_trip() -> None:
    specs = parse_fields(PYFACEBOOK_DEFAULT)
    assert specs is not None
    assert [s.key for s in specs] == ["id", "attachments", "created_time", "message", "comments", "like"]
    assert parse_fields(format_fields(specs)) == specs


@pytest.mark.parametrize("text", ["id,", "comments{id", "comments.limit(5", "from{}", "id message", "a}b"])
def test_broken_graph_fields_are_refused_with_a_position(text: str) -> None:
    with pytest.raises(FieldSyntaxError, match="at character"):
        parse_fields(text)


def test_absent_fields_mean_defaults() -> None:
    assert parse_fields(None) is None and parse_fields("  ") is None


def post(text: str, author: str, *, post_id: str = "5", conversation: str = "1", parent: str | None = None) -> StoredPost:
    return StoredPost("x", post_id, "post", text, author, "9", "1", datetime(2026, 9, 15, tzinfo=UTC), parent,
                      conversation, "api", -1)


ROOT = post("@blrcitytraffic jam at #SilkBoard", "ravi", post_id="1")
REPLY = post("@ravi We have informed HSR Layout traffic PS. Docket BLR-7", "blrcitytraffic", parent="1")


@pytest.mark.parametrize(
    ("query", "on_reply", "on_root"),
    [
        ("conversation_id:1 from:blrcitytraffic", True, False),
        ("conversation_id:1 from:BlrCityTraffic", True, False),
        ("conversation_id:2 from:blrcitytraffic", False, False),
        ("to:ravi", True, False),
        ("in_reply_to_tweet_id:1", True, False),
        ("is:reply", True, False),
        ("-is:reply", False, True),
        ('"Docket BLR-7"', True, False),
        ("@blrcitytraffic", False, True),
        ("#silkboard -is:retweet", False, True),
    ],
)
def test_search_query_terms(query: str, on_reply: bool, on_root: bool) -> None:
    matches = compile_query(query)
    assert matches(REPLY, ROOT) is on_reply
    assert matches(ROOT, None) is on_root


@pytest.mark.parametrize("query", ["", "a OR b", "(a b)", "place:bengaluru", 'unclosed "quote'])
def test_search_queries_the_sandbox_cannot_answer_are_refused(query: str) -> None:
    with pytest.raises(QueryError):
        compile_query(query)


def test_tokens_round_trip_and_reject_garbage() -> None:
    assert decode_x_token(encode_x_token(2099659964543926272)) == 2099659964543926272
    assert encode_x_token(5).startswith("7140dib") and encode_x_token(5).isalnum()
    assert decode_x_token("7140dibzz") is None and decode_x_token("garbage") is None
    assert decode_cursor(encode_cursor("122_105")) == "122_105"
    assert decode_cursor("not base64!") is None


def test_timestamps_and_snowflakes_look_like_the_platforms() -> None:
    moment = datetime(2021, 8, 10, 18, 45, 3, 250000, tzinfo=UTC)
    assert graph_time(moment) == "2021-08-10T18:45:03+0000"
    assert x_time(moment) == "2021-08-10T18:45:03.250Z"
    # the recorded tweet 1456012973835788293 (fixtures/twitter/create_and_delete_tweet.json) was made at 21:38:39.032
    recorded = snowflake_at(datetime(2021, 11, 3, 21, 38, 39, 32000, tzinfo=UTC))
    assert recorded >> 22 == 1456012973835788293 >> 22
    assert snowflake_at(moment) < snowflake_at(moment.replace(second=4))


@pytest.mark.parametrize(
    ("text", "length"),
    [("hello", 5), ("ನಮಸ್ಕಾರ", 7), ("日本", 4), ("see https://example.org/a/very/long/path/indeed", 27), ("🙏", 2)],
)
def test_tweet_length_is_weighted_like_x(text: str, length: int) -> None:
    """twitter-text v3: U+0000-10FF weigh 1 (Kannada and Devanagari too), CJK and emoji 2, a URL 23."""
    assert tweet_length(text) == length
