"""Builders for test data: ``make_x_account(**overrides)`` and friends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from monitor.platform import FetchedMention
from monitor.settings import FacebookPage, PollingSettings, Secret, XAccount

SANDBOX_TOKEN = "sandbox-token"


def make_x_account(**overrides: Any) -> XAccount:
    account = XAccount(
        key="blrcitytraffic",
        user_id="1021737162349010945",
        bearer_token=Secret(SANDBOX_TOKEN),
        consumer_key=Secret("ck"),
        consumer_secret=Secret("cs"),
        access_token=Secret(SANDBOX_TOKEN),
        access_token_secret=Secret("ats"),
    )
    return replace(account, **overrides)


def make_facebook_page(**overrides: Any) -> FacebookPage:
    page = FacebookPage(key="104735829586723", name="Bengaluru City Police", page_token=Secret(SANDBOX_TOKEN))
    return replace(page, **overrides)


def make_polling(**overrides: Any) -> PollingSettings:
    return replace(PollingSettings(request_timeout_s=3.0, backoff_initial_s=5.0), **overrides)


def make_mention(text: str = "Signal jumping at Silk Board @blrcitytraffic", **overrides: Any) -> FetchedMention:
    values: dict[str, Any] = {
        "platform": "x",
        "external_id": "1800000000000000001",
        "text": text,
        "created_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        "author_id": "42",
        "author_handle": "citizen",
    }
    values.update(overrides)
    return FetchedMention(**values)
