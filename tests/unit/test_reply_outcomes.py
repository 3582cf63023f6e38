"""The reply stage's pure rules: what each platform answer does to a reply, and X's reply rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.followup.replies import (
    ReplyProblem,
    ReplySettings,
    backoff_s,
    decide,
    may_reply_on_x,
    next_utc_midnight,
)
from monitor.platform import (
    AuthFailed,
    BadPayload,
    DuplicateContent,
    ParentDeleted,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    ReplyNotAllowed,
)

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SETTINGS = ReplySettings()
RESET = NOW + timedelta(minutes=12)


@pytest.mark.parametrize(
    ("error", "status", "tell", "counts_attempt", "waits_until", "stops"),
    [
        (RateLimited("429", RESET), "pending", None, False, RESET, True),
        (RateLimited("429, reset already past", NOW - timedelta(seconds=5)), "pending", None, False, NOW, True),
        (AuthFailed("401"), "pending", None, False, NOW + timedelta(seconds=SETTINGS.auth_retry_s), True),
        (PlatformUnavailable("503"), "pending", None, True, NOW + timedelta(seconds=30), True),
        (PlatformError("connection reset"), "pending", None, True, NOW + timedelta(seconds=30), True),
        (BadPayload("200 with half a JSON body"), "pending", None, True, NOW + timedelta(seconds=30), False),
        (ParentDeleted("deleted or not visible"), "failed", ReplyProblem.PARENT_DELETED, False, None, False),
        (ReplyNotAllowed("not mentioned"), "not_allowed", ReplyProblem.NOT_ALLOWED, False, None, False),
        (DuplicateContent("duplicate content"), "lookup", None, False, None, False),
    ],
)
def test_each_answer_has_its_own_handling(
    error: PlatformError,
    status: str,
    tell: ReplyProblem | None,
    counts_attempt: bool,
    waits_until: datetime | None,
    stops: bool,
) -> None:
    decision = decide(error, attempts=0, settings=SETTINGS, now=NOW)
    assert (decision.status, decision.tell, decision.counts_attempt) == (status, tell, counts_attempt)
    assert (decision.at, decision.stops_account) == (waits_until, stops)


def test_a_wait_for_the_platform_holds_the_whole_account_and_a_rejected_token_says_so() -> None:
    limited = decide(RateLimited("429", RESET), attempts=3, settings=SETTINGS, now=NOW)
    assert limited.hold_until == RESET and not limited.is_auth
    rejected = decide(AuthFailed("401"), attempts=3, settings=SETTINGS, now=NOW)
    assert rejected.hold_until == rejected.at and rejected.is_auth
    assert decide(PlatformUnavailable("503"), attempts=0, settings=SETTINGS, now=NOW).hold_until is None


def test_outages_back_off_doubling_to_the_cap_then_fail_and_tell_at_max_attempts() -> None:
    waits = [backoff_s(n, SETTINGS) for n in range(1, 9)]
    assert waits == [30, 60, 120, 240, 480, 960, 1800, 1800]
    for attempts in range(SETTINGS.max_attempts - 1):
        decision = decide(PlatformUnavailable("503"), attempts=attempts, settings=SETTINGS, now=NOW)
        assert decision.status == "pending" and decision.at == NOW + timedelta(seconds=waits[attempts])
    last = decide(PlatformUnavailable("503"), attempts=SETTINGS.max_attempts - 1, settings=SETTINGS, now=NOW)
    assert (last.status, last.tell) == ("failed", ReplyProblem.FAILED)
    assert f"after {SETTINGS.max_attempts} attempts" in last.reason


def x_raw(
    *, mentions: list[dict[str, str]] | None = None, referenced: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if mentions is not None:
        raw["entities"] = {"mentions": mentions}
    if referenced is not None:
        raw["referenced_tweets"] = referenced
    return raw


ACCOUNT = {"handle": "blrcitytraffic", "user_id": "1021737162349010945"}


@pytest.mark.parametrize(
    ("text", "raw", "referenced_authors", "allowed"),
    [
        ("@blrcitytraffic signal not working at Silk Board", {}, [], True),
        ("Signal not working at Silk Board @BLRCityTraffic", {}, [], True),
        ("@blrcitytraffic's men were not there 😡", {}, [], True),
        ("＠blrcitytraffic ಸಿಲ್ಕ್ ಬೋರ್ಡ್ ಬಳಿ ಟ್ರಾಫಿಕ್ ಜಾಮ್", {}, [], True),
        ("@blrcitytrafficಸಿಗ್ನಲ್ बंद है", {}, [], True),  # Kannada right after the handle: still a mention
        ("Bhai @blrcitytraffic yaha jam hai kab se", {}, [], True),
        ("@blrcitytrafficpolice please look", {}, [], False),  # another, longer handle
        ("mail me at citizen@blrcitytraffic.in", {}, [], False),  # an address, not a mention
        ("blrcitytraffic please help, jam at Hebbal", {}, [], False),  # no @
        ("@BlrCityPolice chain snatching at Jayanagar", {}, [], False),  # the other account
        ("", {}, [], False),
        ("jam at Hebbal", x_raw(mentions=[{"username": "BlrCityTraffic", "id": "1"}]), [], True),
        ("jam at Hebbal", x_raw(mentions=[{"username": "renamed", "id": ACCOUNT["user_id"]}]), [], True),
        ("jam at Hebbal", x_raw(mentions=[{"username": "BlrCityPolice", "id": "2"}]), [], False),
        ("look at this", x_raw(referenced=[{"type": "quoted", "id": "9"}]), ["blrcitytraffic"], True),
        ("look at this", x_raw(referenced=[{"type": "replied_to", "id": "9"}]), ["blrcitytraffic"], False),
        ("look at this", x_raw(referenced=[{"type": "quoted", "id": "9"}]), ["someone_else"], False),
        ("look", {"entities": "not an object", "referenced_tweets": "nor a list"}, [], False),
        ("look", {"entities": {"mentions": ["blrcitytraffic", None]}}, [], False),
    ],
)
def test_x_reply_rule_the_author_must_mention_or_quote_the_account(
    text: str, raw: dict[str, Any], referenced_authors: list[str], allowed: bool
) -> None:
    assert may_reply_on_x(text=text, raw=raw, referenced_authors=referenced_authors, **ACCOUNT) is allowed


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        (datetime(2026, 11, 20, 9, 30, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)),
        (datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)),
        (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)),
        (datetime(2026, 12, 31, 20, 0, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_daily_cap_resets_at_utc_midnight(now: datetime, midnight: datetime) -> None:
    assert next_utc_midnight(now) == midnight
