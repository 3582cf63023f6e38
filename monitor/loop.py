"""The scheduled loop: one polling job per account and one job per later stage, each job guarded.

Several bot processes may run on one PostgreSQL: each tries every account on its turn, and only the
holder of an account's lease polls it (:mod:`monitor.poller`); a clean stop frees the leases.

``schedule`` does not catch a job's exception (one failing job would stop ``run_pending``), so every
job goes through :func:`guarded`: the one place in the bot that catches broadly, logs, and goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import schedule
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.leases import hold_exclusive, release
from models.mentions import audit, ensure_account
from models.stage import Clock, Stage, utc_now
from monitor.facebook import FacebookPlatform
from monitor.platform import Platform
from monitor.poller import HELD_ELSEWHERE, PollOutcome, poll_account, process_holder
from monitor.settings import Account, PollingSettings, XAccount
from monitor.twitter import TwitterPlatform

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PolledAccount:
    platform: Platform
    account_id: int


def make_platform(account: Account, polling: PollingSettings, clock: Clock = utc_now) -> Platform:
    if isinstance(account, XAccount):
        return TwitterPlatform(account, max_results=polling.max_results, timeout_s=polling.request_timeout_s, now=clock)
    return FacebookPlatform(account, limit=polling.max_results, timeout_s=polling.request_timeout_s, now=clock)


def register_accounts(engine: Engine, platforms: Sequence[Platform]) -> list[PolledAccount]:
    """Make sure each account has its rows in storage; the platforms paired with their row ids."""
    polled = []
    with session_scope(engine) as session:
        hold_exclusive(session, "register accounts")  # bots starting together create each account once
        for platform in platforms:
            account_id = ensure_account(
                session,
                platform=platform.platform,
                key=platform.key,
                external_user_id=platform.own_user_id,
                label=platform.label,
            )
            polled.append(PolledAccount(platform, account_id))
    return polled


def guarded(
    name: str, job: Callable[[], T], on_failure: Callable[[Exception], None] | None = None
) -> Callable[[], T | None]:
    """Run ``job``; log any exception, tell ``on_failure`` (whose own failure is only logged), and return
    None so the loop goes on.

    A failure is logged with its traceback the first time; while the same error goes on (a database that
    is down fails every lane at every turn) it is logged again, one line without the traceback, only at
    the 2nd, 4th, 8th... time, and once when the job works again, so an hour's outage is a few dozen lines,
    not millions."""
    failures = _Repeats()

    def run() -> T | None:
        try:
            result = job()
        except Exception as exc:
            count = failures.failed(exc)
            if count == 1:
                logger.exception("job %s failed; it runs again at its next turn", name)
            elif count & (count - 1) == 0:  # a power of two
                logger.error("job %s failed again, %d times in a row: %s", name, count, failures.signature)
            if on_failure is not None:
                try:
                    on_failure(exc)
                except Exception as told:
                    if count == 1:
                        logger.exception("recording the failure of job %s failed too", name)
                    elif count & (count - 1) == 0:
                        logger.error("recording the failure of job %s failed too: %s", name, _signature(told))
            return None
        if failures.count:
            logger.info("job %s works again after %d failure(s)", name, failures.count)
            failures.reset()
        return result

    return run


def _signature(exc: BaseException) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line[:200]}" if first_line else type(exc).__name__


class _Repeats:
    """How many times in a row a job has failed with the same error (another error starts again at 1)."""

    def __init__(self) -> None:
        self.count = 0
        self.signature = ""

    def failed(self, exc: BaseException) -> int:
        signature = _signature(exc)
        self.count = self.count + 1 if signature == self.signature else 1
        self.signature = signature
        return self.count

    def reset(self) -> None:
        self.count = 0
        self.signature = ""


class Bot:
    def __init__(
        self,
        engine: Engine,
        accounts: Sequence[PolledAccount],
        stages: Sequence[Stage],
        polling: PollingSettings,
        clock: Clock = utc_now,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.accounts = list(accounts)
        self.stages = list(stages)
        self.polling = polling
        self.clock = clock
        self.holder = holder or process_holder()  # this process's name on the account leases

    def poll(self, account: PolledAccount) -> PollOutcome:
        outcome = poll_account(
            self.engine,
            account.platform,
            account.account_id,
            now=self.clock(),
            settings=self.polling,
            clock=self.clock,
            holder=self.holder,
        )
        # an account another process polls: DEBUG, or every bot would log every account at every turn
        logger.log(logging.DEBUG if outcome.skipped == HELD_ELSEWHERE else logging.INFO, "%s", outcome.summary())
        return outcome

    def run_stage(self, stage: Stage) -> dict[str, int]:
        counts = stage.run(self.engine, self.clock())
        if any(counts.values()):
            logger.info("%s: %s", stage.name, ", ".join(f"{v} {k}" for k, v in counts.items()))
        return counts

    def stage_failed(self, name: str, exc: Exception) -> None:
        """On the audit trail, for the health page (the error's type only: a message may quote a post)."""
        with session_scope(self.engine) as session:
            audit(session, "stage.failed", "stage", name, at=self.clock(), error=type(exc).__name__)

    def run_stages(self) -> dict[str, int]:
        """Every stage once, in order; a stage that raises is logged and the next one still runs."""
        counts: dict[str, int] = {}
        for stage in self.stages:
            job = guarded(stage.name, partial(self.run_stage, stage), partial(self.stage_failed, stage.name))
            for key, value in (job() or {}).items():
                counts[key] = counts.get(key, 0) + value
        return counts

    def run_forever(self, stop: threading.Event, *, stage_interval_s: float = 5.0) -> None:
        """Poll every account on its interval and run the stages, until ``stop`` is set. Each account's poll
        and each stage runs in a lane of its own (one worker thread), so a hung X request never delays
        Facebook, the notifications or the replies; a lane whose last run is still going skips its turn."""
        scheduler = schedule.Scheduler()
        lanes: list[Lane] = []
        for account in self.accounts:
            lane = Lane(
                f"poll {account.platform.label}", guarded(f"poll {account.platform.label}", partial(self.poll, account))
            )
            lanes.append(lane)
            # schedule annotates the interval as int, but seconds go into a timedelta: a float works
            scheduler.every(self.polling.interval_s).seconds.do(lane)  # type: ignore[arg-type]
            lane()  # first poll at start-up, not one interval later
        for stage in self.stages:  # each stage its own job: one that raises does not hold up the others
            stage_job = guarded(stage.name, partial(self.run_stage, stage), partial(self.stage_failed, stage.name))
            lanes.append(lane := Lane(stage.name, stage_job))
            scheduler.every(stage_interval_s).seconds.do(lane)  # type: ignore[arg-type]
        logger.info("bot running: %d account(s), %d stage(s)", len(self.accounts), len(self.stages))
        try:
            while not stop.is_set():
                scheduler.run_pending()
                stop.wait(min(1.0, max(0.05, scheduler.idle_seconds or 1.0)))
        finally:
            for lane in lanes:
                lane.close()
            if self.accounts:
                guarded("release leases", self.release_leases)()
        logger.info("bot stopped")

    def release_leases(self) -> None:
        """At a clean stop, free this process's account leases so another process polls them at once
        (a process killed outright frees them when they expire)."""
        with session_scope(self.engine) as session:
            released = release(session, holder=self.holder, now=self.clock())
        if released:
            logger.info("released %d account lease(s)", released)


class Lane:
    """One job's own worker thread: a turn that comes while the last run is still going is skipped (logged),
    so a slow job never piles up runs of itself nor holds up any other job."""

    def __init__(self, name: str, job: Callable[[], object]) -> None:
        self.name = name
        self._job = job
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name.replace(" ", "-")[:24])
        self._running: Future[object] | None = None

    def __call__(self) -> None:
        if self._running is not None and not self._running.done():
            logger.debug("%s: still running, this turn skipped", self.name)
            return
        self._running = self._executor.submit(self._job)

    def close(self) -> None:
        """Wait for the run in progress (a poll ends within its request timeout), start no other."""
        self._executor.shutdown(wait=True, cancel_futures=True)
