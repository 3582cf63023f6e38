"""One life of the bot under the kill matrix: built as ``run.py bot`` builds it, run on a simulated clock.

The bot is :func:`assembly.build.build` with every stage and the real adapters against the sandbox; its loop
is ``Bot.run_forever``'s work taken in turns, one thread: each tick the world moves on (the sandbox shows the
scenario posts whose time has come), every account is polled, every stage runs (each through ``guarded``, as in
``Bot.run_stages``), and the clock moves ``step_min`` on. The clock is kept in ``state_dir/clock.txt``; a bot
restarted after a kill starts a minute later (time went by while it was down). Past ``hours`` the clock
stops and the bot runs until a tick finds nothing to do, writes ``state_dir/done.json`` and exits 0; unless
the kill plan kills it first.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from assembly.build import build
from assembly.demo_followup import SimClock
from assembly.settings import load_settings
from monitor.loop import Bot, guarded
from tests.e2e.killpoints import breakage, hooks

logger = logging.getLogger(__name__)
MAX_DRAIN_TICKS = 30
RESTART_TIME = timedelta(minutes=1)  # how long a killed bot is down before it runs again


@dataclass(frozen=True)
class Job:
    config: Path
    state_dir: Path
    sandbox_url: str
    start_at: datetime
    hours: float
    step_min: float
    release_at: tuple[datetime, ...]  # when each scenario post appears, oldest first
    plan: hooks.KillPlan | None
    breakage: str | None
    environ: dict[str, str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        state_dir = Path(data["state_dir"])
        plan = data.get("plan")
        return cls(
            Path(data["config"]),
            state_dir,
            data["sandbox_url"],
            datetime.fromisoformat(data["start_at"]),
            float(data["hours"]),
            float(data["step_min"]),
            tuple(datetime.fromisoformat(t) for t in data["release_at"]),
            hooks.KillPlan.from_json(plan, state_dir / "kills.log") if plan else None,
            data.get("breakage"),
            dict(data.get("environ", {})),
        )


def _release(sandbox_url: str, n: int) -> dict[str, int]:
    request = urllib.request.Request(
        f"{sandbox_url}/_sandbox/release", data=json.dumps({"n": n}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: dict[str, int] = json.loads(answer.read())
        return found


def _show_due_posts(job: Job, now: datetime) -> int:
    """The world moves on: the sandbox shows every post whose time has come; how many it showed now."""
    shown = len(job.release_at) - _release(job.sandbox_url, 0)["pending"]
    due = sum(1 for at in job.release_at if at <= now)
    return _release(job.sandbox_url, due - shown)["released"] if due > shown else 0


def _start_clock(job: Job) -> SimClock:
    saved = job.state_dir / "clock.txt"
    if not saved.exists():
        return SimClock(job.start_at)
    clock = SimClock(datetime.fromisoformat(saved.read_text().strip()) + RESTART_TIME)
    _save(job, clock)
    return clock


def _save(job: Job, clock: SimClock) -> None:
    """The time, for the next life and for the sandbox (which runs on it): written whole, then renamed."""
    partial = job.state_dir / "clock.txt.partial"
    partial.write_text(clock.now.isoformat())
    partial.replace(job.state_dir / "clock.txt")


def live(job: Job) -> int:
    """The bot's life until done (0) or killed; never returns when killed."""
    os.environ.update(job.environ)
    log = (job.state_dir / "bot.log").open("a", encoding="utf-8")
    os.dup2(log.fileno(), sys.stdout.fileno())
    os.dup2(log.fileno(), sys.stderr.fileno())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True)
    for noisy in ("tweepy", "pyfacebook", "urllib3", "alembic", "apprise", "requests_oauthlib", "oauthlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    clock = _start_clock(job)
    points = hooks.install(job.plan, clock)
    breakage.apply(job.breakage)
    logger.info("kill matrix: bot starts at %s, plan %s, breakage %s", clock.now, job.plan, job.breakage)
    assembly = build(load_settings(job.config, os.environ), os.environ, clock=clock)
    assert assembly.engine is not None
    hooks.in_stages(assembly.stages)
    bot = Bot(assembly.engine, assembly.accounts, assembly.stages, assembly.settings.polling, clock=clock)
    end_at = job.start_at + timedelta(hours=job.hours)
    totals: dict[str, int] = {}
    drained = 0
    while drained < MAX_DRAIN_TICKS:
        worked = _show_due_posts(job, clock.now)
        for account in bot.accounts:
            outcome = guarded(f"poll {account.platform.label}", partial(bot.poll, account))()
            worked += outcome.stored if outcome is not None else 0
        for key, value in bot.run_stages().items():
            totals[key] = totals.get(key, 0) + value
            worked += value
        if clock.now < end_at:
            clock.now += timedelta(minutes=job.step_min)
        elif not worked:
            break
        else:
            drained += 1
        _save(job, clock)
    summary = {"ended_at": clock.now.isoformat(), "counts": totals, "calls": points.seen, "drained": drained}
    (job.state_dir / "done.json").write_text(json.dumps(summary, sort_keys=True))
    assembly.close()
    return 0
