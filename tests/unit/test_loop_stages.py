"""Each stage is its own guarded job: one that raises does not hold up the others."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from assembly.database import _unsupported
from monitor.loop import Bot
from tests.builders import make_polling


class Broken:
    name = "classify"

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        raise RuntimeError("the model file is corrupt")


class Counting:
    def __init__(self, name: str, done: threading.Event | None = None) -> None:
        self.name, self.runs, self.done = name, 0, done

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        self.runs += 1
        if self.done is not None and self.runs >= 2:
            self.done.set()
        return {self.name: 1}


def test_a_failing_stage_does_not_stop_the_next_one_in_a_pass(caplog: pytest.LogCaptureFixture) -> None:
    route, notify = Counting("route"), Counting("notify")
    bot = Bot(sa.create_engine("sqlite://"), [], [Broken(), route, notify], make_polling(), clock=lambda: datetime.now(UTC))
    assert bot.run_stages() == {"route": 1, "notify": 1}
    assert "classify failed" in caplog.text


def test_in_the_loop_the_other_stages_keep_their_turns_while_one_keeps_failing() -> None:
    done, stop = threading.Event(), threading.Event()
    notify = Counting("notify", done)
    bot = Bot(sa.create_engine("sqlite://"), [], [Broken(), notify], make_polling())
    worker = threading.Thread(target=bot.run_forever, args=(stop,), kwargs={"stage_interval_s": 0.05})
    worker.start()
    try:
        assert done.wait(10), "notify never ran a second time while classify kept failing"
    finally:
        stop.set()
        worker.join(10)


@pytest.mark.parametrize(
    ("dialect", "version", "refused"),
    [("sqlite", (3, 34, 1), True), ("sqlite", (3, 40, 1), False), ("postgresql", (12, 9), True), ("postgresql", (15, 19), False)],
)
def test_an_unsupported_database_version_is_refused(dialect: str, version: tuple[int, ...], refused: bool) -> None:
    assert (_unsupported(dialect, version) is not None) is refused


def test_a_failing_stage_is_on_the_audit_trail_for_the_health_page(tmp_path: Path) -> None:
    from models.db import make_engine, migrate, session_scope
    from models.tables import AuditEvent

    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    migrate(engine)
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    Bot(engine, [], [Broken(), Counting("notify")], make_polling(), clock=lambda: at).run_stages()
    with session_scope(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.kind == "stage.failed")).all()
    assert (event.entity, event.entity_id, event.at, event.detail) == ("stage", "classify", at, {"error": "RuntimeError"})


def test_a_hung_poll_holds_up_neither_the_stages_nor_the_other_account() -> None:
    """Issue 12: each X request that timed out used to hold up Facebook polling and every stage."""
    from monitor.loop import PolledAccount

    class Stub:
        def __init__(self, label: str) -> None:
            self.label = label

    polled: list[str] = []
    release = threading.Event()

    class HungX(Bot):
        def poll(self, account: PolledAccount) -> Any:
            if account.platform.label == "x":
                release.wait(20)  # a request hanging until its timeout
            polled.append(account.platform.label)
            return None

    done, stop = threading.Event(), threading.Event()
    notify = Counting("notify", done)
    accounts = [PolledAccount(Stub("x"), 1), PolledAccount(Stub("facebook"), 2)]  # type: ignore[arg-type]
    bot = HungX(sa.create_engine("sqlite://"), accounts, [notify], replace(make_polling(), interval_s=0.05))
    worker = threading.Thread(target=bot.run_forever, args=(stop,), kwargs={"stage_interval_s": 0.05})
    worker.start()
    try:
        assert done.wait(5), "the stages waited for the hung poll"
        deadline = time.monotonic() + 5
        while polled.count("facebook") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert polled.count("facebook") >= 2 and "x" not in polled  # Facebook kept its turns, X still hangs
    finally:
        release.set()
        stop.set()
        worker.join(20)
    assert not worker.is_alive()


class Draining:
    """A stage with ``backlog`` batches of work: each run does one and says so, then it finds nothing."""

    def __init__(self, name: str, backlog: int, key: str = "classified") -> None:
        self.name, self.backlog, self.key, self.runs = name, backlog, key, 0
        self.drained = threading.Event()

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        self.runs += 1
        if self.runs > self.backlog:
            self.drained.set()
            return {self.key: 0}
        return {self.key: 1}


def test_a_stage_with_a_backlog_runs_again_at_once_and_an_idle_one_waits_its_interval() -> None:
    """The stage interval is an hour: only a stage whose run did work may run again within the test. A paced
    stage (the tallies) and one whose work only waits (replies held by a rate limit) wait like idle ones."""
    classify = Draining("classify", backlog=5)
    tally = Draining("tally", backlog=100, key="tally_days")
    reply = Draining("reply", backlog=100, key="replies_waiting")
    polling = replace(make_polling(), stage_interval_s=3600.0)  # the configured interval (config.toml [polling])
    bot = Bot(sa.create_engine("sqlite://"), [], [classify, tally, reply], polling)
    stop = threading.Event()
    worker = threading.Thread(target=bot.run_forever, args=(stop,))
    worker.start()
    try:
        assert classify.drained.wait(10), "the backlog waited for the stage interval"
        deadline = time.monotonic() + 10
        while not (tally.runs and reply.runs) and time.monotonic() < deadline:  # their first turn, at start
            time.sleep(0.01)
        time.sleep(0.2)  # room for a wrong second run
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive(), "the bot did not stop when told"
    assert classify.runs == 6  # five batches, then one run that found nothing, then its hour's wait
    assert (tally.runs, reply.runs) == (1, 1)


def test_a_stop_waits_for_the_batch_in_progress_only() -> None:
    """A stage with an endless backlog: stopping ends it after the batch under way, not when it is empty."""
    endless = Draining("route", backlog=10**9, key="assigned")
    bot = Bot(sa.create_engine("sqlite://"), [], [endless], make_polling())
    stop = threading.Event()
    worker = threading.Thread(target=bot.run_forever, args=(stop,))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while endless.runs < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert endless.runs >= 3
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive(), "the bot went on with the backlog after the stop"


def test_a_poll_that_stored_posts_wakes_the_stages_at_once() -> None:
    """The stage interval is an hour: classify runs a second time only because a poll stored a post; the
    tallies (paced) are not woken."""
    from monitor.loop import PolledAccount
    from monitor.poller import PollOutcome

    class Stub:
        label = "x"

    polls = 0
    first_stage_run = threading.Event()

    class OnePost(Bot):
        def poll(self, account: PolledAccount) -> PollOutcome:
            nonlocal polls
            polls += 1
            if polls == 2:  # after the stages' first turn
                first_stage_run.wait(10)
                return PollOutcome("x", fetched=1, stored=1)
            return PollOutcome("x")

        def beat(self) -> None:
            pass

    classify = Draining("classify", backlog=0)  # idle: nothing but a wake brings it back within the hour
    tally = Draining("tally", backlog=100, key="tally_days")
    original = classify.run

    def run(engine: Engine, now: datetime) -> dict[str, int]:
        first_stage_run.set()
        return original(engine, now)

    classify.run = run  # type: ignore[method-assign]
    polling = replace(make_polling(), stage_interval_s=3600.0, interval_s=0.05)
    bot = OnePost(sa.create_engine("sqlite://"), [PolledAccount(Stub(), 1)], [classify, tally], polling)  # type: ignore[arg-type]
    stop = threading.Event()
    worker = threading.Thread(target=bot.run_forever, args=(stop,))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while classify.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    assert classify.runs == 2, "the stored post waited for the stage interval"
    assert tally.runs == 1


def test_an_escalation_written_wakes_notify_though_escalate_keeps_its_interval() -> None:
    notify = Draining("notify", backlog=0, key="notified")
    notify_ran = threading.Event()
    notify_run = notify.run

    def run_notify(engine: Engine, now: datetime) -> dict[str, int]:
        counts = notify_run(engine, now)
        notify_ran.set()
        return counts

    notify.run = run_notify  # type: ignore[method-assign]

    class Escalate(Draining):
        def run(self, engine: Engine, now: datetime) -> dict[str, int]:
            notify_ran.wait(10)  # notify has had its first turn: only a wake brings it back within the hour
            return super().run(engine, now)

    escalate = Escalate("escalate", backlog=5, key="escalations")
    bot = Bot(sa.create_engine("sqlite://"), [], [escalate, notify], replace(make_polling(), stage_interval_s=3600.0))
    stop = threading.Event()
    worker = threading.Thread(target=bot.run_forever, args=(stop,))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while notify.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
    finally:
        stop.set()
        worker.join(10)
    assert (escalate.runs, notify.runs) == (1, 2)  # escalate is paced: not again at once, though it did work
