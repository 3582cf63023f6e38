"""Injected failures: what the next requests to a platform (or a path) get instead of an answer.

Kinds: ``status`` (an HTTP error such as 500/502/503 with a plausible body), ``timeout`` (hold the
connection ``delay_s`` then close it without answering), ``malformed`` (200 with invalid JSON),
``expired_token`` (the platform's expired-token error), ``rate_limit`` (spend the budget now, reset
``reset_in_s`` ahead), ``corrupt_item`` (the normal answer with one item, ``target`` or the first,
broken in the way ``corruption`` names: see :mod:`sandbox.corrupt`). A fault lasts for ``count``
matching requests or ``duration_s`` seconds, whichever ends first (one request when neither is given). Not thread-safe: the state holds the lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.corrupt import CORRUPTIONS

FAULT_KINDS = ("status", "timeout", "malformed", "expired_token", "rate_limit", "corrupt_item")
PLATFORMS = ("x", "facebook", "*")


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    platform: str = "*"
    path: str | None = None  # substring of the request path, e.g. "/mentions"
    method: str | None = None
    count: int | None = None
    duration_s: float | None = None
    status: int = 503
    delay_s: float = 30.0
    reset_in_s: float = 900.0
    corruption: str | None = None  # corrupt_item: one of sandbox.corrupt.CORRUPTIONS
    target: str | None = None  # corrupt_item: the id of the item to corrupt (default: the page's first)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (want one of {', '.join(FAULT_KINDS)})")
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r} (want x, facebook or *)")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError(f"status fault needs a 4xx/5xx status, got {self.status}")
        if self.kind == "corrupt_item" and self.corruption not in CORRUPTIONS:
            raise ValueError(f"corrupt_item needs a corruption, one of {', '.join(CORRUPTIONS)}")
        if self.kind != "corrupt_item" and (self.corruption is not None or self.target is not None):
            raise ValueError("corruption and target belong to a corrupt_item fault")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")

    def matches(self, platform: str, method: str, path: str) -> bool:
        return (
            self.platform in ("*", platform)
            and (self.path is None or self.path in path)
            and (self.method is None or self.method.upper() == method.upper())
        )

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> FaultSpec:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(record) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        if "kind" not in record:
            raise ValueError("a fault needs a kind")
        try:
            return cls(**dict(record))
        except TypeError as exc:
            raise ValueError(str(exc)) from exc


@dataclass
class _Active:
    fault_id: int
    spec: FaultSpec
    remaining: int | None
    until_s: float | None


class FaultBook:
    def __init__(self) -> None:
        self._active: list[_Active] = []
        self._next_id = 1

    def add(self, spec: FaultSpec, now_s: float) -> int:
        remaining = spec.count if spec.count is not None or spec.duration_s is not None else 1
        until_s = now_s + spec.duration_s if spec.duration_s is not None else None
        fault_id = self._next_id
        self._next_id += 1
        self._active.append(_Active(fault_id, spec, remaining, until_s))
        return fault_id

    def clear(self) -> None:
        self._active.clear()

    def take(self, platform: str, method: str, path: str, now_s: float) -> FaultSpec | None:
        """The first active fault matching this request, counting it as used."""
        self._active = [a for a in self._active if a.until_s is None or now_s < a.until_s]
        for active in self._active:
            if active.spec.matches(platform, method, path):
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining <= 0:
                        self._active.remove(active)
                return active.spec
        return None

    def describe(self, now_s: float) -> list[dict[str, Any]]:
        return [
            {"id": a.fault_id, **asdict(a.spec), "remaining": a.remaining,
             "expires_in_s": None if a.until_s is None else max(0.0, a.until_s - now_s)}
            for a in self._active
            if a.until_s is None or now_s < a.until_s
        ]
