"""What a post's values become before they are stored: awkward real-world input, one row each."""

from __future__ import annotations

import math
from typing import Any

import pytest

from models.cleaning import MENTION_LENGTHS, clean_json, clean_mention

NAME = "Leela Vishwanath"
LONG = "ಲೀಲಾ ವಿಶ್ವನಾಥ್ " * 40  # 600 characters of Kannada


@pytest.mark.parametrize(
    ("given", "stored", "problem"),
    [
        # strings both databases take, unchanged
        ({"author_name": NAME}, {"author_name": NAME}, None),
        ({"text": "Signal jumping 🚦 at Silk Board"}, {"text": "Signal jumping 🚦 at Silk Board"}, None),
        ({"text": ""}, {"text": ""}, None),
        ({"author_name": None}, {"author_name": None}, None),
        # NUL bytes: PostgreSQL text cannot hold them
        ({"author_name": "Leela\x00 Vishwanath"}, {"author_name": NAME}, "author_name: NUL bytes removed"),
        ({"text": "\x00\x00"}, {"text": ""}, "text: NUL bytes removed"),
        # half an emoji (a lone surrogate): neither driver can encode it
        ({"text": "bikes fell \ud83d"}, {"text": "bikes fell \ufffd"}, "text: half a surrogate pair replaced"),
        ({"author_name": "\udc00Leela"}, {"author_name": "\ufffdLeela"}, "author_name: half a surrogate pair"),
        # longer than the column: prose is cut, ids and links are left out (cut, they would point elsewhere)
        ({"author_name": "x" * 5000}, {"author_name": "x" * 200}, "author_name cut to 200 characters"),
        ({"author_name": LONG}, {"author_name": LONG[:200]}, "author_name cut to 200"),
        ({"author_handle": "h" * 101}, {"author_handle": "h" * 100}, "author_handle cut to 100"),
        ({"place_name": "Koramangala " * 30}, {"place_name": ("Koramangala " * 30)[:200]}, "place_name cut"),
        ({"author_name": "x" * 200}, {"author_name": "x" * 200}, None),
        ({"in_reply_to_id": "1" * 65}, {"in_reply_to_id": None}, "in_reply_to_id longer than 64 characters"),
        ({"permalink": "https://x.com/" + "a" * 500}, {"permalink": None}, "permalink longer than 500"),
        ({"lang": "en-GB-oxendict-x"}, {"lang": "en-GB-oxendict-x"}, None),
        ({"lang": "en-GB-oxendict-xx"}, {"lang": None}, "lang longer than 16"),
        # NUL removed first, then measured
        ({"author_name": "x" * 200 + "\x00"}, {"author_name": "x" * 200}, "author_name: NUL bytes removed"),
        # coordinates: both on the globe, or neither
        ({"lat": 12.9352, "lon": 77.6245}, {"lat": 12.9352, "lon": 77.6245}, None),
        ({"lat": -90.0, "lon": 180.0}, {"lat": -90.0, "lon": 180.0}, None),
        ({"lat": 0, "lon": 0}, {"lat": 0, "lon": 0}, None),
        ({"lat": None, "lon": None}, {"lat": None, "lon": None}, None),
        ({"lat": 999.0, "lon": 77.6}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        ({"lat": 12.9, "lon": -180.5}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        ({"lat": 90.0001, "lon": 0.0}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        ({"lat": math.nan, "lon": 77.6}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        ({"lat": 12.9, "lon": math.inf}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        ({"lat": 12.9, "lon": None}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        ({"lat": True, "lon": 77.6}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        ({"lat": "12.9", "lon": "77.6"}, {"lat": None, "lon": None}, "coordinates outside the globe"),
        # JSON columns: what PostgreSQL's JSON takes
        ({"raw": {"latitude": math.nan, "from": {"name": "Leela\x00"}}},
         {"raw": {"latitude": None, "from": {"name": "Leela"}}}, None),
        ({"referenced_authors": ["ok", "half\ud83d"]}, {"referenced_authors": ["ok", "half\ufffd"]}, None),
    ],
)
def test_values_are_cleaned_to_what_the_column_and_both_databases_take(
    given: dict[str, Any], stored: dict[str, Any], problem: str | None
) -> None:
    cleaned = clean_mention(given)
    assert cleaned.values == stored
    if problem is None:
        assert cleaned.problems == ()
    else:
        assert any(p.startswith(problem) for p in cleaned.problems), cleaned.problems


@pytest.mark.parametrize("value", ["Leela\x00 Vishwanath", "x" * 5000, "Leela \ud83d", "ಲೀಲಾ" * 100])
def test_a_problem_never_quotes_the_value(value: str) -> None:
    cleaned = clean_mention({"author_name": value, "text": value})
    assert cleaned.problems
    assert not any(fragment in problem for problem in cleaned.problems for fragment in ("Leela", "xxx", "ಲೀ"))


def test_a_post_whose_id_does_not_fit_is_not_stored_rather_than_stored_as_another() -> None:
    cleaned = clean_mention({"external_id": "1" * 65, "text": "fine"})
    assert cleaned.values is None
    assert cleaned.problems == ("external_id is longer than 64 characters: not stored",)


def test_the_lengths_are_the_mention_tables() -> None:
    assert MENTION_LENGTHS["author_name"] == 200
    assert MENTION_LENGTHS["external_id"] == 64
    assert "text" not in MENTION_LENGTHS  # TEXT: no limit


def test_clean_json_keeps_what_is_fine() -> None:
    value = {"id": "1", "n": 3, "f": 1.5, "ok": True, "none": None, "list": [1, "a", {"b": "c"}]}
    assert clean_json(value) == value
