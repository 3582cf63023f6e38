"""The scheduled loop: one polling job per account and the later stages, each job guarded.

``schedule`` does not catch a job's exception (one failing job would stop ``run_pending``), so every
job goes through :func:`guarded`: the one place in the bot that catches broadly, logs, and goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

import schedule
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.mentions import ensure_account
from monitor.facebook import FacebookPlatform
from monitor.platform import Platform
from monitor.poller import PollOutcome, poll_account
from monitor.settings import Account, PollingSettings, XAccount
from monitor.twitter import TwitterPlatform

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Stage(Protocol):
    """A step after polling (classify, route, notify, ...): works on what is stored, returns counts."""

    name: str

    def run(self, engine: Engine, now: datetime) -> dict[str, int]: ...


@dataclass(frozen=True)
class PolledAccount:
    platform: Platform
    account_id: int


def make_platform(account: Account, polling: PollingSettings, clock: Clock = utc_now) -> Platform:
    if isinstance(account, XAccount):
        return TwitterPlatform(account, max_results=polling.max_results, timeout_s=polling.request_timeout_s, now=clock)
    return FacebookPlatform(account, limit=polling.max_results, timeout_s=polling.request_timeout_s, now=clock)


def register_accounts(
    engine: Engine, accounts: Sequence[Account], polling: PollingSettings, clock: Clock = utc_now
) -> list[PolledAccount]:
    """Build an adapter per configured account and make sure each has its rows in storage."""
    polled = []
    with session_scope(engine) as session:
        for account in accounts:
            platform = make_platform(account, polling, clock)
            account_id = ensure_account(
                session,
                platform=account.platform,
                key=account.key,
                external_user_id=platform.own_user_id,
                label=account.label,
            )
            polled.append(PolledAccount(platform, account_id))
    return polled


def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """Run ``job``; log any exception with its traceback and return normally so the loop goes on."""

    def run() -> None:
        try:
            job()
        except Exception:
            logger.exception("job %s failed; it runs again at its next turn", name)

    return run


class Bot:
    def __init__(
        self,
        engine: Engine,
        accounts: Sequence[PolledAccount],
        stages: Sequence[Stage],
        polling: PollingSettings,
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self.accounts = list(accounts)
        self.stages = list(stages)
        self.polling = polling
        self.clock = clock

    def poll(self, account: PolledAccount) -> PollOutcome:
        outcome = poll_account(
            self.engine, account.platform, account.account_id, now=self.clock(), settings=self.polling
        )
        logger.info("%s", outcome.summary())
        return outcome

    def run_stages(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for stage in self.stages:
            for key, value in stage.run(self.engine, self.clock()).items():
                counts[key] = counts.get(key, 0) + value
        if any(counts.values()):
            logger.info("stages: %s", ", ".join(f"{v} {k}" for k, v in counts.items()))
        return counts

    def run_forever(self, stop: threading.Event, *, stage_interval_s: float = 5.0) -> None:
        """Poll every account on its interval and run the stages, until ``stop`` is set."""
        scheduler = schedule.Scheduler()
        for account in self.accounts:
            job = guarded(f"poll {account.platform.label}", partial(self.poll, account))
            # schedule annotates the interval as int, but seconds go into a timedelta: a float works
            scheduler.every(self.polling.interval_s).seconds.do(job)  # type: ignore[arg-type]
            job()  # first poll at start-up, not one interval later
        if self.stages:
            scheduler.every(stage_interval_s).seconds.do(guarded("stages", self.run_stages))  # type: ignore[arg-type]
        logger.info("bot running: %d account(s), %d stage(s)", len(self.accounts), len(self.stages))
        while not stop.is_set():
            scheduler.run_pending()
            stop.wait(min(1.0, max(0.05, scheduler.idle_seconds or 1.0)))
        logger.info("bot stopped")
