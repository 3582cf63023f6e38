from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.poller import backoff_s
from monitor.ratelimit import graph_budget, x_budget

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [(1, 2.5, 5.0), (2, 5.0, 10.0), (3, 10.0, 20.0), (8, 320.0, 640.0), (9, 450.0, 900.0), (30, 450.0, 900.0)],
)
def test_backoff_doubles_and_is_capped(failures: int, low: float, high: float) -> None:
    rng = random.Random(failures)
    for _ in range(50):
        assert low <= backoff_s(failures, initial_s=5.0, max_s=900.0, rng=rng) <= high


def test_x_budget_reads_remaining_and_reset() -> None:
    budget = x_budget({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1795435200"})
    assert budget.remaining == 0
    assert budget.reset_at == datetime.fromtimestamp(1795435200, UTC)
    assert x_budget({}).remaining is None


@pytest.mark.parametrize(
    ("headers", "remaining", "reset_in"),
    [
        ({"x-app-usage": json.dumps({"call_count": 12, "total_cputime": 3, "total_time": 5})}, 88, None),
        ({"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 3, "total_time": 5})}, 0, timedelta(hours=1)),
        (
            {
                "x-business-use-case-usage": json.dumps(
                    {
                        "1047": [
                            {
                                "type": "pages",
                                "call_count": 100,
                                "total_cputime": 9,
                                "total_time": 9,
                                "estimated_time_to_regain_access": 7,
                            }
                        ]
                    }
                )
            },
            0,
            timedelta(minutes=7),
        ),
        ({"x-app-usage": "not json"}, 100, None),
    ],
)
def test_graph_budget_from_usage_headers(headers: dict[str, str], remaining: int, reset_in: timedelta | None) -> None:
    budget = graph_budget(headers, "1047", NOW)
    assert budget.remaining == remaining
    assert budget.reset_at == (NOW + reset_in if reset_in else None)
