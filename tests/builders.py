"""Builders for test data: ``make_x_account(**overrides)`` and friends."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from models.posts import FetchedMention
from models.secret import Secret
from monitor.settings import FacebookPage, PollingSettings, XAccount

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


def write_scenario(path: Path, n_x: int, n_fb: int, *, start: datetime | None = None) -> Path:
    """A JSONL scenario of ``n_x`` X mentions and ``n_fb`` Facebook comments, one every 20 s."""
    start = start or datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    lines = []
    for i in range(n_x):
        lines.append(
            {
                "platform": "x",
                "text": f"@blrcitytraffic wrong side driving near Silk Board #{i}",
                "author": f"rider{i % 17}",
                "created_at": (start + timedelta(seconds=20 * i)).isoformat(),
                "account": "blrcitytraffic",
            }
        )
    for i in range(n_fb):
        lines.append(
            {
                "platform": "facebook",
                "text": f"Chain snatching near Jayanagar 4th block, report {i}",
                "author": f"Resident {i % 11}",
                "created_at": (start + timedelta(seconds=20 * i + 9)).isoformat(),
                "account": "104735829586723",
            }
        )
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path
