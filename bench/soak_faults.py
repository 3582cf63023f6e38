"""The soak's faults: a schedule of sandbox faults switched on over the run through ``POST /_sandbox/faults``.

``--faults "rate_limit:20,burst:45,slow:30,malformed:60,corrupt:40"`` strikes each kind every so many
seconds (``none`` switches them off). What each kind is:

- ``rate_limit``: the next X mentions read gets 429 with the reset 3 s ahead (Graph: code 32).
- ``burst``: every request to one platform answers 503 for 2 s (polls and replies alike).
- ``slow``: the next request is held 2 s, then closed unanswered.
- ``malformed``: the next answer is 200 with truncated JSON.
- ``corrupt``: the next page's first item is broken in a way the bot cleans and keeps (half an emoji,
  a NUL in the author's name, the geo as a list), so the post is still stored.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)
DEFAULT_FAULTS = "rate_limit:20,burst:45,slow:30,malformed:60,corrupt:40"
KEPT_CORRUPTIONS = ("broken_unicode", "nul_name", "geo_list")


def _rate_limit(i: int) -> dict[str, Any]:
    return {"kind": "rate_limit", "platform": ("x", "facebook")[i % 2], "count": 1, "reset_in_s": 3.0,
            **({"path": "/mentions"} if i % 2 == 0 else {})}


def _burst(i: int) -> dict[str, Any]:
    return {"kind": "status", "platform": ("facebook", "x")[i % 2], "status": (503, 500, 502)[i % 3],
            "duration_s": 2.0}


def _slow(i: int) -> dict[str, Any]:
    return {"kind": "timeout", "platform": ("x", "facebook")[i % 2], "delay_s": 2.0, "count": 1}


def _malformed(i: int) -> dict[str, Any]:
    return {"kind": "malformed", "platform": ("facebook", "x")[i % 2], "count": 1}


def _corrupt(i: int) -> dict[str, Any]:
    return {"kind": "corrupt_item", "platform": ("x", "facebook")[i % 2], "count": 1,
            "corruption": KEPT_CORRUPTIONS[i % len(KEPT_CORRUPTIONS)]}


FAULTS: dict[str, Callable[[int], dict[str, Any]]] = {
    "rate_limit": _rate_limit, "burst": _burst, "slow": _slow, "malformed": _malformed, "corrupt": _corrupt,
}


def parse_faults(text: str) -> dict[str, float]:
    """``kind:every_s,...`` -> {kind: every_s}; ``none`` or empty -> {}. ValueError names what is wrong."""
    if text.strip().lower() in ("", "none", "off"):
        return {}
    schedule: dict[str, float] = {}
    for part in text.split(","):
        kind, _, every = part.strip().partition(":")
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r} (want {', '.join(FAULTS)})")
        try:
            every_s = float(every)
        except ValueError as exc:
            raise ValueError(f"fault {kind}: want {kind}:SECONDS, got {part!r}") from exc
        if every_s <= 0:
            raise ValueError(f"fault {kind}: the period must be positive")
        schedule[kind] = every_s
    return schedule


class FaultSwitch:
    """Adds the scheduled faults to the sandbox from a thread until :meth:`stop`; counts what it added."""

    def __init__(self, sandbox_url: str, schedule: dict[str, float]) -> None:
        self._url = sandbox_url + "/_sandbox/faults"
        self._schedule = schedule
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)
        self.added: Counter[str] = Counter()

    def start(self) -> FaultSwitch:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop adding faults and clear those still active, so the run drains on a healthy platform."""
        self._stop.set()
        self._thread.join(timeout=10)
        urllib.request.urlopen(urllib.request.Request(self._url, method="DELETE"), timeout=10).close()

    def _add(self, body: dict[str, Any]) -> None:
        request = urllib.request.Request(self._url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    def _run(self) -> None:
        started = time.monotonic()
        due = {kind: started + every_s / 2 for kind, every_s in self._schedule.items()}
        while self._schedule and not self._stop.wait(max(0.05, min(due.values()) - time.monotonic())):
            now = time.monotonic()
            for kind, at in due.items():
                if at <= now:
                    try:
                        self._add(FAULTS[kind](self.added[kind]))
                    except OSError as exc:  # a busy sandbox: this one is skipped, the schedule goes on
                        logger.warning("could not add a %s fault: %s", kind, exc)
                    else:
                        self.added[kind] += 1
                    due[kind] = at + self._schedule[kind]
