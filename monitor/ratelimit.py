"""Reading rate-limit state from response headers (tweepy ignores ``x-rate-limit-remaining``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from monitor.platform import RateBudget


class HeaderWatch:
    """A ``requests`` response hook that keeps the last response's status and headers.

    Mounted on a client library's session, it lets the adapter see what the library hides: the
    remaining budget, the reset time, and the status of a response the library failed to parse.
    """

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}

    def attach(self, session: requests.Session) -> None:
        session.hooks.setdefault("response", []).append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.status = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}

    def reset(self) -> None:
        self.status = None
        self.headers = {}


def x_budget(headers: dict[str, str]) -> RateBudget:
    """``x-rate-limit-remaining`` and ``x-rate-limit-reset`` (epoch seconds) as a budget."""
    remaining = _int(headers.get("x-rate-limit-remaining"))
    reset = _int(headers.get("x-rate-limit-reset"))
    return RateBudget(remaining, datetime.fromtimestamp(reset, UTC) if reset is not None else None)


def graph_budget(headers: dict[str, str], page_id: str, now: datetime) -> RateBudget:
    """Graph reports usage as percentages; 100% of any dimension means spent.

    ``x-business-use-case-usage`` gives ``estimated_time_to_regain_access`` in minutes; ``x-app-usage``
    gives no reset time, so a spent app budget is waited out for an hour (Graph's rolling window).
    """
    worst = 0
    regain_min = 0
    for name in ("x-app-usage", "x-page-usage"):
        usage = _json(headers.get(name))
        if isinstance(usage, dict):
            worst = max(worst, *(_int(v) or 0 for v in usage.values() if isinstance(v, int | str)), 0)
    buc = _json(headers.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    for key in ("call_count", "total_cputime", "total_time"):
                        worst = max(worst, _int(entry.get(key)) or 0)
                    regain_min = max(regain_min, _int(entry.get("estimated_time_to_regain_access")) or 0)
    if regain_min > 0:
        return RateBudget(0, now + timedelta(minutes=regain_min))
    if worst >= 100:
        return RateBudget(0, now + timedelta(hours=1))
    return RateBudget(100 - worst, None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _json(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None
