"""The database goes away under a running bot and comes back: the bot keeps running, logs what failed, and in the
end everything released is stored once and routed once, every notification and reply delivered once.

PostgreSQL: a throwaway server of the test's own (initdb into a temporary folder, a free port) under ``run.py bot``
with the sandbox releasing posts; it is stopped in ``fast`` and then ``immediate`` mode for some seconds each and
started again. SQLite: the file locked by another connection, shorter and longer than the busy timeout.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from models.db import make_engine
from models.tables import Mention
from sandbox import FacebookPage, SandboxServer, XAccount
from tests import runfork
from tests.e2e.sim_bot import (
    PAGE,
    X_HANDLE,
    X_USER,
    Receiver,
    SimBot,
    SimClock,
    assert_all_well,
    bot_environ,
    citizens_posts,
    fb_comment,
    make_sim_bot,
    start_of_sim,
    stop_sim_bot,
    write_config,
    x_mention,
)
from tests.invariants import assert_invariants, violations

pytestmark = pytest.mark.slow
POSTS_PER_PLATFORM = 16  # 32 posts: 6 at first, 12 around each stop, 2 at the end
OUTAGE_S = 6.0  # longer than the stages' 5 s turn: every stage meets the stopped server


class ThrowawayPostgres:
    """A PostgreSQL server of the test's own, on a free port. initdb and the server refuse to run as root, so
    as root they run as the ``postgres`` user, in a folder it owns."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="pg-restart-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        user = server_user()
        self._as = ["runuser", "-u", user, "--"] if user else []
        if user:
            shutil.chown(self.folder, user)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._as, str(self.bin_dir / tool), *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{tool} {' '.join(args)}: {done.stdout[-1500:]}{done.stderr[-1500:]}"

    def init(self) -> ThrowawayPostgres:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self._as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bin_dir = postgres_bin_dir()
    reason = None
    if bin_dir is None:
        reason = "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    elif os.geteuid() == 0 and (shutil.which("runuser") is None or server_user() is None):
        reason = "running as root without runuser or a user (postgres, nobody) to run initdb as"
    if reason is not None or bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true the database restart test must run")
        pytest.skip(f"{reason}; install the PostgreSQL server to run this test")
    server = ThrowawayPostgres(bin_dir).init()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def server_user() -> str | None:
    """Whom to run initdb and the server as, since they refuse root; None when we are not root."""
    import pwd

    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def count(engine: Engine, query: sa.Select[Any]) -> int:
    """A count, or -1 while the server is down."""
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    except sa.exc.OperationalError:
        return -1


def failures_logged(log: Path) -> int:
    return log.read_text().count("failed; it runs again")


def above(value: Callable[[], int], floor: int) -> bool:
    return value() > floor


def equals(value: Callable[[], int], wanted: int) -> bool:
    return value() == wanted


def wait_until(what: str, check: Callable[[], bool], bot: runfork.Forked, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert bot.poll() is None, f"the bot exited ({bot.returncode}) before {what}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} in {timeout_s} s: {log.read_text()[-3000:]}"
        time.sleep(0.2)


def test_postgresql_stopped_fast_and_immediate_under_a_running_bot_loses_nothing(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    server = throwaway_postgres
    start = start_of_sim() - timedelta(hours=1)
    posts = [make(i, start + timedelta(seconds=20 * i)) for i in range(POSTS_PER_PLATFORM) for make in (x_mention, fb_comment)]
    sandbox = SandboxServer(
        posts,
        x_accounts=[XAccount(user_id=X_USER, username=X_HANDLE)],
        facebook_pages=[FacebookPage(page_id=PAGE, name="Bengaluru City Police")],
        release="manual",
    ).start()
    receiver = Receiver().start()
    config = write_config(tmp_path, sandbox.url, server.url, interval_s=1, request_timeout_s=5, backoff_initial_s=0.5,
                          backoff_max_s=2)
    # a message sent just before the server went away cannot be recorded as sent: it is "sending" until this
    # timeout says it was interrupted (failed, the desk told), as after a crash; short, so the test sees the end
    config.write_text(config.read_text().replace("sending_timeout_s = 300", "sending_timeout_s = 10")
                      .replace("sending_timeout_s = 120", "sending_timeout_s = 10"))
    log = tmp_path / "bot.log"
    watcher = make_engine(server.url, poolclass=NullPool)
    stored = sa.select(sa.func.count()).select_from(Mention)
    with log.open("wb") as stderr:
        # a process of its own, forked from one that has imported the stack (tests/runfork.py)
        bot = runfork.Forked(["bot", "-c", str(config)], env=bot_environ(receiver), stdout=runfork.DEVNULL, stderr=stderr)
    try:
        wait_until("bot running", lambda: "bot running" in log.read_text(), bot, log)
        released = sandbox.state.release(6)
        wait_until("the first posts stored", lambda: count(watcher, stored) == released, bot, log)
        for mode in ("fast", "immediate"):
            failures_before = failures_logged(log)
            released += sandbox.state.release(6)  # the stop lands as the bot reads or stores these
            server.stop(mode)
            down_at = time.monotonic()
            released += sandbox.state.release(6)  # and these come while the database is down
            wait_until(f"a logged failure with the server stopped ({mode})",
                       partial(above, partial(failures_logged, log), failures_before), bot, log)
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            assert bot.poll() is None, "the bot stopped with the database"
            server.start()
            wait_until(f"the posts released so far stored after the {mode} stop",
                       partial(equals, partial(count, watcher, stored), released), bot, log)
        sandbox.state.release_all()

        def settled() -> bool:
            """Every post stored, classified, routed, notified and answered, as the invariants say."""
            return sandbox.state.pending_count == 0 and not violations(
                watcher, posts=citizens_posts(sandbox), received=[r.to_json() for r in sandbox.state.received()],
                delivered=receiver.delivered())

        deadline = time.monotonic() + 120  # then the invariants below say what is still wrong
        while not settled() and time.monotonic() < deadline:
            assert bot.poll() is None, f"the bot exited ({bot.returncode}): {log.read_text()[-3000:]}"
            time.sleep(0.5)
        text = log.read_text()
        assert text.count("bot running") == 1, "one process all along: no crash loop"
        for job in ("poll x @blrcitytraffic", "poll facebook Bengaluru City Police", "classify", "route", "notify"):
            assert f"job {job} failed; it runs again" in text, f"{job}: its failure was logged"
        assert "OperationalError" in text
        assert_invariants(
            watcher,
            posts=citizens_posts(sandbox),
            received=[r.to_json() for r in sandbox.state.received()],
            delivered=receiver.delivered(),
        )
    finally:
        if bot.poll() is None:
            bot.terminate()
            bot.wait(timeout=60)
        watcher.dispose()
        sandbox.stop()
        receiver.stop()
    assert bot.returncode == 0, log.read_text()[-3000:]


@pytest.fixture
def sqlite_sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SimBot, Path]]:
    database = tmp_path / "bot.db"
    sim = make_sim_bot(monkeypatch, tmp_path, f"sqlite:///{database}", SimClock(start_of_sim()))
    yield sim, database
    stop_sim_bot(sim)


def post_now(sim: SimBot, i: int) -> None:
    sim.sandbox.state.inject(x_mention(i, sim.clock()))
    sim.sandbox.state.inject(fb_comment(i, sim.clock()))


def stored_count(sim: SimBot) -> int:
    return count(sim.bot.engine, sa.select(sa.func.count()).select_from(Mention))


def test_a_sqlite_file_locked_by_another_connection_is_waited_out_or_retried(
    sqlite_sim: tuple[SimBot, Path], caplog: pytest.LogCaptureFixture
) -> None:
    sim, database = sqlite_sim
    post_now(sim, 0)
    sim.tick()
    locker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    try:
        # shorter than the busy timeout (30 s): the bot's writes wait for it and nothing fails
        locker.execute("BEGIN IMMEDIATE")
        threading.Timer(1.0, locker.execute, ("COMMIT",)).start()
        post_now(sim, 1)
        started = time.monotonic()
        sim.tick()
        assert time.monotonic() - started >= 0.9 and stored_count(sim) == 4
        assert "database is locked" not in caplog.text

        # longer than the busy timeout (here 0.3 s, for speed): every lane fails with "database is locked", logged;
        # the next turns retry and nothing is lost
        sa.event.listen(sim.bot.engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=300"))
        sim.bot.engine.dispose()  # the pooled connections have the old timeout
        locker.execute("BEGIN IMMEDIATE")
        post_now(sim, 2)
        for _ in range(3):
            sim.tick()
        assert "database is locked" in caplog.text and "job poll x @blrcitytraffic failed" in caplog.text
        assert stored_count(sim) == 4, "nothing stored while the file is locked"
        locker.execute("COMMIT")
    finally:
        locker.close()
    for _ in range(3):
        sim.tick()
    assert stored_count(sim) == 6
    assert_all_well(sim)
