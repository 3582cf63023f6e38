"""SIGKILL at the Nth hooked call inside one stage, without touching production code.

The hooked calls are the moments a crash matters: each database commit (``commit:before``, ``commit:after``),
each HTTP request to the sandbox or the receiver (``http:before``, ``http:after``), each notification handed
to Apprise (``send:before``, ``send:after``) and each reply handed to a platform (``post:before:x``,
``post:after:facebook``, ...; a plan's ``post:after`` aims at both platforms). A call counts only while the target stage runs (``poll``, or a stage's ``name``), so the Nth
call is the same point of the same stage on every run of the same scenario: the bot is single-threaded here.
Just before the kill, one line naming the point is appended to the kill log.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import requests
from sqlalchemy.orm import Session

from models.stage import Clock, Stage, utc_now
from monitor.facebook import FacebookPlatform
from monitor.loop import Bot
from monitor.twitter import TwitterPlatform
from notify.sender import AppriseSender

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class KillPlan:
    """Kill at the ``n``-th call (1-based) of ``hooks`` (all when empty) while ``stage`` runs, counting from
    the first tick at or after ``after`` (simulated time; None: from the start)."""

    stage: str
    n: int
    hooks: frozenset[str] = frozenset()
    after: datetime | None = None
    log: Path | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], log: Path | None) -> KillPlan:
        after = data.get("after")
        return cls(data["stage"], int(data["n"]), frozenset(data.get("hooks") or ()),
                   datetime.fromisoformat(after) if after else None, log)


@dataclass
class Points:
    plan: KillPlan | None
    clock: Clock = utc_now
    current: str = ""
    count: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # calls per stage, for the run's summary

    def hit(self, point: str) -> None:
        self.seen[self.current] = self.seen.get(self.current, 0) + 1
        plan = self.plan
        if plan is None or self.current != plan.stage or (plan.hooks and not _aimed(point, plan.hooks)):
            return
        if plan.after is not None and self.clock() < plan.after:
            return
        self.count += 1
        if self.count == plan.n:
            if plan.log is not None:
                fd = os.open(plan.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                os.write(fd, f"killed in {plan.stage} at {point} (call {plan.n}) at {self.clock():%H:%M}\n".encode())
                os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)


POINTS = Points(None)


def _aimed(point: str, hooks: frozenset[str]) -> bool:
    """``post:after`` aims at ``post:after:x`` and ``post:after:facebook``; ``post:after:x`` at the first only."""
    return any(point == hook or point.startswith(hook + ":") for hook in hooks)


def _around(name: str, function: F, suffix: str = "") -> F:
    @wraps(function)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        POINTS.hit(f"{name}:before{suffix}")
        result = function(*args, **kwargs)
        POINTS.hit(f"{name}:after{suffix}")
        return result

    return hooked  # type: ignore[return-value]  # same signature as the wrapped function


def _in_stage(name: str, function: F) -> F:
    @wraps(function)
    def inside(*args: Any, **kwargs: Any) -> Any:
        POINTS.current = name
        try:
            return function(*args, **kwargs)
        finally:
            POINTS.current = ""

    return inside  # type: ignore[return-value]


def install(plan: KillPlan | None, clock: Clock) -> Points:
    """Hook the calls (once per process) and aim at ``plan``; None only counts."""
    POINTS.plan, POINTS.clock = plan, clock
    if getattr(Session.commit, "__wrapped__", None) is None:
        Session.commit = _around("commit", Session.commit)  # type: ignore[method-assign]
        requests.Session.send = _around("http", requests.Session.send)  # type: ignore[method-assign]
        AppriseSender.send = _around("send", AppriseSender.send)  # type: ignore[method-assign]
        TwitterPlatform.post_reply = _around("post", TwitterPlatform.post_reply, ":x")  # type: ignore[method-assign]
        FacebookPlatform.post_reply = _around(  # type: ignore[method-assign]
            "post", FacebookPlatform.post_reply, ":facebook"
        )
        FacebookPlatform.post_private_reply = _around(  # type: ignore[method-assign]
            "post", FacebookPlatform.post_private_reply, ":facebook"
        )
        Bot.poll = _in_stage("poll", Bot.poll)  # type: ignore[method-assign]
    return POINTS


def in_stages(stages: Sequence[Stage]) -> None:
    """Name the running stage for the kill points: each stage's ``run`` wrapped on its object."""
    for stage in stages:
        stage.run = _in_stage(stage.name, stage.run)  # type: ignore[method-assign]
