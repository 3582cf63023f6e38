"""Fixed-window request budgets, as X and Graph count them. Not thread-safe: the state holds the lock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.config import RateBudget


@dataclass(frozen=True)
class Usage:
    """One bucket after a request: what the rate-limit headers report."""

    limit: int
    remaining: int
    reset_at_s: float  # Unix seconds when the window resets
    is_allowed: bool

    @property
    def used_percent(self) -> int:
        if self.limit <= 0:
            return 100
        return min(100, round(100 * (self.limit - self.remaining) / self.limit))


@dataclass
class _Bucket:
    limit: int
    window_s: float
    used: int
    reset_at_s: float


class RateLimiter:
    """Buckets keyed by (budget name, caller); a budget name missing from the table is unlimited."""

    def __init__(self, budgets: Mapping[str, RateBudget]) -> None:
        self._budgets = dict(budgets)
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, name: str, caller: str, now_s: float) -> _Bucket:
        budget = self._budgets.get(name, RateBudget(limit=10**9, window_s=900.0))
        key = (name, caller)
        bucket = self._buckets.get(key)
        if bucket is None or now_s >= bucket.reset_at_s:
            bucket = _Bucket(budget.limit, budget.window_s, 0, now_s + budget.window_s)
            self._buckets[key] = bucket
        return bucket

    def spend(self, name: str, caller: str, now_s: float) -> Usage:
        """Count one request; ``is_allowed`` is false (and nothing is counted) once the budget is spent."""
        bucket = self._bucket(name, caller, now_s)
        is_allowed = bucket.used < bucket.limit
        if is_allowed:
            bucket.used += 1
        return Usage(bucket.limit, bucket.limit - bucket.used, bucket.reset_at_s, is_allowed)

    def exhaust(self, name: str, caller: str, now_s: float, reset_in_s: float) -> Usage:
        """Spend the whole budget now; it comes back ``reset_in_s`` from now."""
        bucket = self._bucket(name, caller, now_s)
        bucket.used = bucket.limit
        bucket.reset_at_s = now_s + reset_in_s
        return Usage(bucket.limit, 0, bucket.reset_at_s, False)

    def peek(self, name: str, caller: str, now_s: float) -> Usage:
        bucket = self._bucket(name, caller, now_s)
        return Usage(bucket.limit, bucket.limit - bucket.used, bucket.reset_at_s, bucket.used < bucket.limit)
