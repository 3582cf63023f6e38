"""The scheduled loop: one polling job per account and one job per later stage, each job guarded.

Several bot processes may run on one PostgreSQL: each tries every account on its turn, and only the
holder of an account's lease polls it (:mod:`monitor.poller`); each process writes a heartbeat so the
leases are spread about evenly (:mod:`models.leases`); a clean stop frees the leases.

Every job goes through :func:`guarded`: the one place in the bot that catches broadly, logs, and goes on.
Each lane is a standard-library thread waiting on an event rather than a ``schedule`` job: a scheduler library
cannot wake a job early (a poll that stored posts wakes the stages) nor run it again at once while it finds work.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlalchemy.engine import Engine

from models.db import session_scope
from models.leases import beat, hold_exclusive, release
from models.mentions import audit, ensure_account
from models.stage import Clock, Stage, utc_now
from monitor.facebook import FacebookPlatform
from monitor.platform import Platform
from monitor.poller import HELD_ELSEWHERE, PollOutcome, poll_account, process_holder
from monitor.settings import Account, PollingSettings, XAccount
from monitor.twitter import TwitterPlatform

logger = logging.getLogger(__name__)
T = TypeVar("T")
# periodic jobs, not a queue: each run goes through all it has (the held cases, the alerts, the touched days),
# so they run on their interval only, never again at once nor woken by another lane's work
PACED_STAGES = frozenset({"tally", "escalate", "watch"})
SILENT_STAGES = frozenset({"tally"})  # writes no message: its work wakes nobody
WAITING_COUNTS = frozenset({"replies_waiting", "days_left"})  # work found but not due yet: not busy
HEARTBEAT_FORGET_S = 86_400.0  # a heartbeat this old is a process long gone: its row is deleted


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

    def run_forever(self, stop: threading.Event, *, stage_interval_s: float | None = None) -> None:
        """Poll every account on its interval and run the stages, until ``stop`` is set. Each account's poll
        and each stage runs in a lane of its own (one worker thread), so a hung X request never delays
        Facebook, the notifications or the replies. A stage whose run did work runs again at once (a backlog
        is worked through batch after batch, not one batch per interval), and wakes the other queue stages of
        this process, as a poll that stored posts does (a post goes down the pipeline without waiting out each
        stage's interval); an idle one waits ``stage_interval_s`` (default: the polling settings'), or until
        woken: work another process stored is found within that interval. ``stop`` is checked between
        runs, so a stop waits only for the batch in progress."""
        interval_s = self.polling.stage_interval_s if stage_interval_s is None else stage_interval_s
        lanes: list[Lane] = []
        woken: list[Lane] = []  # the queue stages: told at once when a poll stored posts or a stage did work

        def wake_stages() -> None:
            for lane in woken:
                lane.wake()

        if self.accounts:
            guarded("heartbeat", self.beat)()  # counted among the live processes before its first poll
            lanes.append(Lane("heartbeat", guarded("heartbeat", self.beat), interval_s=self.polling.interval_s, stop=stop))
        for account in self.accounts:
            job = partial(_stored, guarded(f"poll {account.platform.label}", partial(self.poll, account)))
            lanes.append(Lane(f"poll {account.platform.label}", job, interval_s=self.polling.interval_s, stop=stop,
                              on_news=wake_stages))
        for stage in self.stages:  # each stage its own lane: one that raises does not hold up the others
            stage_job = guarded(stage.name, partial(self.run_stage, stage), partial(self.stage_failed, stage.name))
            lane = Lane(stage.name, partial(_is_busy, stage, stage_job), interval_s=interval_s, stop=stop,
                        on_news=wake_stages)
            lanes.append(lane)
            if stage.name not in PACED_STAGES:
                woken.append(lane)
        for lane in lanes:
            lane.start()
        logger.info("bot running: %d account(s), %d stage(s)", len(self.accounts), len(self.stages))
        try:
            stop.wait()
        finally:
            stop.set()  # also when the wait was interrupted: every lane ends after its run in progress
            for lane in lanes:
                lane.wake()
            for lane in lanes:
                lane.join()
            busiest = sorted(lanes, key=lambda lane: -lane.cpu_s)
            logger.info(
                "CPU: %.1f s in all; by lane (its own thread, not its send workers): %s",
                time.process_time(),
                ", ".join(f"{lane.name} {lane.cpu_s:.1f} s/{lane.runs} runs" for lane in busiest),
            )
            if self.accounts:
                guarded("release leases", self.release_leases)()
        logger.info("bot stopped")

    def beat(self) -> None:
        """This process is alive: the others count it when they share out the account leases."""
        with session_scope(self.engine) as session:
            beat(session, holder=self.holder, now=self.clock(), forget_after_s=HEARTBEAT_FORGET_S)

    def release_leases(self) -> None:
        """At a clean stop, free this process's account leases so another process polls them at once
        (a process killed outright frees them when they expire)."""
        with session_scope(self.engine) as session:
            released = release(session, holder=self.holder, now=self.clock())
        if released:
            logger.info("released %d account lease(s)", released)


def _is_busy(stage: Stage, job: Callable[[], dict[str, int] | None]) -> Turn:
    """Run the stage's job; AGAIN when it did work, so its lane runs it again at once (and wakes the others);
    NEWS when a paced stage did work (the others are woken, it waits its interval). A failed run and a run
    that only found work waiting (a rate limit, days left for later) are idle."""
    counts = job()
    if counts is None:
        return Turn.IDLE
    is_busy = any(value for key, value in counts.items() if key not in WAITING_COUNTS)
    if stage.name in PACED_STAGES:  # its messages (an escalation, an alert) go out at once all the same
        return Turn.NEWS if is_busy and stage.name not in SILENT_STAGES else Turn.IDLE
    return Turn.AGAIN if is_busy else Turn.IDLE


def _stored(job: Callable[[], PollOutcome | None]) -> Turn:
    outcome = job()
    return Turn.NEWS if outcome is not None and outcome.stored else Turn.IDLE


class Turn(enum.Enum):
    """What a lane's run found: nothing to go on with, work for others (posts stored), or more of its own."""

    IDLE = "idle"
    NEWS = "news"
    AGAIN = "again"


class Lane:
    """One job's own worker thread: runs ``job`` every ``interval_s`` (counted from each run's start) until
    ``stop`` is set; at once again when the job returns ``Turn.AGAIN``, and early when :meth:`wake` is
    called. A run that returns NEWS or AGAIN calls ``on_news``. A slow run never piles up runs of itself nor
    holds up any other lane; ``stop`` is checked between runs."""

    def __init__(
        self,
        name: str,
        job: Callable[[], object],
        *,
        interval_s: float,
        stop: threading.Event,
        on_news: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._job = job
        self._interval_s = interval_s
        self._stop = stop
        self._on_news = on_news
        self._woken = threading.Event()
        self.cpu_s = 0.0  # this lane's thread's CPU time in its runs (its own pools' workers not counted)
        self.runs = 0
        self._thread = threading.Thread(target=self._run, name=name.replace(" ", "-")[:24], daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._woken.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._woken.clear()  # a wake during the run makes the next one come at once
            cpu = time.thread_time()
            turn = self._job()
            self.cpu_s += time.thread_time() - cpu
            self.runs += 1
            if turn in (Turn.NEWS, Turn.AGAIN) and self._on_news is not None:
                self._on_news()
            if turn is Turn.AGAIN:
                continue
            self._woken.wait(max(0.0, started + self._interval_s - time.monotonic()))

    def join(self) -> None:
        """Wait for the run in progress (a poll ends within its request timeout); no other starts."""
        self._thread.join()
