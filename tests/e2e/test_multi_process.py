"""Several ``run.py bot`` processes on one PostgreSQL share the work, and a killed one's share is taken over.

Two bots, then three, run against one sandbox whose posts (the demo's 120, over three accounts) are released
over time. Twice a bot is killed with ``kill -9`` at a moment it holds at least one account lease and has a
notification claimed (``sending``): the notification receiver holds that bot's request until the kill. The
others take the accounts over when the leases expire, fail the cut-off message with the desk told, and go on.
Meanwhile deadlines are moved into the past so reminders, escalations and the overdue digest fall due in every
process at once. At the end (``tests/invariants.py``): every post stored once, every case classified, filed and
routed once with one open assignee, each notification delivered at most once per outbox row and none lost
unless failed with the desk told, each citizen reply posted at most once, no reminder or escalation twice; and
here: no alert raised twice in a row, and every lease taken over under a new epoch.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assembly.demo import shift_to_now
from models.followup import Reply
from models.leases import AccountLease
from models.routing import Assignment, OutboxMessage
from models.tables import AuditEvent, Complaint, Mention
from sandbox import FacebookPage, SandboxServer, ScenarioPost, StoredPost, XAccount, load_scenario
from tests.conftest import ROOT, pg_url_for
from tests.e2e.test_ingest import RUN
from tests.invariants import assert_invariants

logger = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.postgres]
SCENARIO = ROOT / "data" / "scenarios" / "bengaluru_demo.jsonl"
TOKENS = (
    "X_BLRCITYTRAFFIC_BEARER_TOKEN",
    "X_BLRCITYPOLICE_BEARER_TOKEN",
    "X_CONSUMER_KEY",
    "X_CONSUMER_SECRET",
    "X_BLRCITYTRAFFIC_ACCESS_TOKEN",
    "X_BLRCITYTRAFFIC_ACCESS_TOKEN_SECRET",
    "X_BLRCITYPOLICE_ACCESS_TOKEN",
    "X_BLRCITYPOLICE_ACCESS_TOKEN_SECRET",
    "FB_BCP_PAGE_TOKEN",
    "FB_APP_SECRET",
)
DEADLINE_S = 240.0  # generous: the machine is shared
MID_SEND_WAIT_S = 60.0  # for the lease holder to send something, before it is killed anyway


def config_for(tmp_path: Path, database_url: str, sandbox_url: str) -> Path:
    """The sample deployment on the sandbox and PostgreSQL, with short clocks: polls every 2 s, leases of 7 s,
    a cut-off send failed after 4 s, an account unpolled for 3 s raised to the desk."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    swaps = [
        (r'data_dir = "data"', f'data_dir = "{ROOT / "data"}"'),
        (r'url = "sqlite:///var/police-desk.db"', f'url = "{database_url}"'),
        (r"interval_s = 60 ", "interval_s = 2 "),
        (r"request_timeout_s = 20", "request_timeout_s = 3"),
        (r"backoff_initial_s = 5 ", "backoff_initial_s = 0.2 "),
        (r"backoff_max_s = 900", "backoff_max_s = 1"),
        (r"backoff_initial_s = 30 ", "backoff_initial_s = 0.5 "),
        (r"sending_timeout_s = 300", "sending_timeout_s = 4"),
        (r"sending_timeout_s = 120", "sending_timeout_s = 4"),
        (r"no_poll_min = 15 ", "no_poll_min = 0.05 "),
        (r'(bearer_token_env = "\w+"|page_token_env = "\w+")', rf'\1\napi_base_url = "{sandbox_url}"'),
        (r"lookback_days = 7 ", "lookback_days = 30 "),
    ]
    for pattern, replacement in swaps:
        text, count = re.subn(pattern, replacement, text)
        assert count, f"config.toml no longer has {pattern!r}"
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def pid_of(holder: str | None) -> int | None:
    return int(holder.split(":")[-2]) if holder else None  # host:pid:random


class Receiver:
    """The officers' webhook (Apprise ``json://``): keeps every message; once armed, holds the first request from
    a bot that holds an account lease until :meth:`let_go`, and says which bot it was."""

    def __init__(self, leases_of: Callable[[int], int]) -> None:
        self.delivered: list[dict[str, Any]] = []
        self.pids: list[int] = []
        self._leases_of = leases_of
        self._armed = threading.Event()
        self._caught = threading.Event()
        self._released = threading.Event()
        self.victim: tuple[int, int] | None = None  # (pid, leases held when caught)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                receiver.delivered.append({"officer": self.path.rsplit("/", 1)[-1], "body": body})
                receiver._maybe_hold(self.client_address[1])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self._httpd.server_address[1]}/notify/{{officer}}"

    def _maybe_hold(self, client_port: int) -> None:
        if not self._armed.is_set():
            return
        pid = next((p for p in self.pids if _has_port(p, client_port)), None)
        if pid is None or (held := self._leases_of(pid)) == 0:
            return
        with self._lock:
            if self._caught.is_set():
                return
            self.victim = (pid, held)
            self._caught.set()
        self._released.wait(30)

    def catch(self, timeout_s: float) -> tuple[int, int] | None:
        """Hold the first notification a bot holding a lease sends, None if none does within ``timeout_s`` (on
        a quiet machine the other bots may have claimed every message before this is armed)."""
        self._caught.clear()
        self._released.clear()
        self._armed.set()
        caught = self._caught.wait(timeout_s)
        self._armed.clear()
        return self.victim if caught else None

    def let_go(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.let_go()
        self._httpd.shutdown()


def _has_port(pid: int, port: int) -> bool:
    try:
        return any(c.laddr and c.laddr.port == port for c in psutil.Process(pid).net_connections(kind="tcp"))
    except psutil.Error:
        return False


def count(engine: Engine, statement: Any) -> int:
    with Session(engine) as session:
        return int(session.execute(statement).scalar_one())


def stored(engine: Engine) -> int:
    return count(engine, sa.select(sa.func.count()).select_from(Mention))


def leases(engine: Engine) -> list[AccountLease]:
    with Session(engine) as session:
        return list(session.exec(select(AccountLease)).all())


def live_leases_of(engine: Engine, pid: int) -> int:
    now = datetime.now(UTC)
    return sum(pid_of(lease.holder) == pid and (lease.expires_at or now) > now for lease in leases(engine))


def wait_until(
    what: str,
    done: Callable[[], bool],
    bots: list[subprocess.Popen[bytes]],
    logs: Path,
    missing: Callable[[], object] = lambda: "",
) -> None:
    started = time.monotonic()
    deadline = started + DEADLINE_S
    while not done():
        for bot in bots:
            assert bot.poll() is None, f"a bot exited ({bot.returncode}) before {what}: {tail(logs)}"
        assert time.monotonic() < deadline, f"not {what} in {DEADLINE_S:.0f} s: {missing()}\n{tail(logs)}"
        time.sleep(0.1)
    logger.info("%s after %.1f s", what, time.monotonic() - started)


def tail(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(logs.glob("*.log")))


def unsettled(engine: Engine, expected_posts: int) -> list[str]:
    """What is not done yet: posts to store or classify, cases to route, messages or replies to send."""
    checks = {
        "stored": (sa.select(sa.func.count()).select_from(Mention), expected_posts),
        "unclassified": (sa.select(sa.func.count()).where(col(Mention.classified_at).is_(None)), 0),
        "new cases": (sa.select(sa.func.count()).where(col(Complaint.status) == "new"), 0),
        "messages to send": (
            sa.select(sa.func.count()).where(col(OutboxMessage.status).in_(["pending", "sending"])),
            0,
        ),
        "replies to post": (sa.select(sa.func.count()).where(col(Reply.status).in_(["pending", "sending"])), 0),
    }
    found = {name: count(engine, statement) for name, (statement, _) in checks.items()}
    return [f"{name} {found[name]} (want {want})" for name, (_, want) in checks.items() if found[name] != want]


def move_deadlines(engine: Engine) -> int:
    """Every other open assignment's acknowledge-by passed a minute ago (an escalation is due), the others 3/4
    through their window (a reminder is due), as if the hours had gone by."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        rows = list(session.exec(select(Assignment).where(Assignment.role == "assignee", Assignment.status == "open")))
        for i, row in enumerate(rows):
            row.assigned_at = now - timedelta(hours=3)
            row.acknowledge_by = now - timedelta(minutes=1) if i % 2 else now + timedelta(minutes=20)
            session.add(row)
        session.commit()
    return len(rows)


def alerts_raised_twice(engine: Engine) -> list[str]:
    """Alert keys whose ``alert.raised`` came twice with no ``alert.cleared`` between (two processes raising)."""
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.entity == "alert").order_by(col(AuditEvent.id))).all()
    last: dict[str, str] = {}
    twice = []
    for event in events:
        if event.kind == "alert.raised" and last.get(event.entity_id) == "alert.raised":
            twice.append(f"{event.entity_id} at {event.at:%H:%M:%S}")
        last[event.entity_id] = event.kind
    return twice


def every_third_post() -> list[ScenarioPost]:
    """A third of the demo's posts over its three accounts (with the posts they answer), oldest first: the
    work of the test is the sharing, not the volume."""
    posts = load_scenario(SCENARIO)
    by_id = {p.id: i for i, p in enumerate(posts) if p.id}
    kept = {i for i, p in enumerate(posts) if i % 3 == 0 or p.kind == "page_post"}
    for i in sorted(kept):
        parent = posts[i].in_reply_to
        while parent in by_id and by_id[parent] not in kept:
            kept.add(by_id[parent])
            parent = posts[by_id[parent]].in_reply_to
    # released in the order they were written, as on a platform (a cursor never waits for older posts)
    return sorted((p for i, p in enumerate(posts) if i in kept), key=lambda p: p.created_at)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    posts = shift_to_now(every_third_post(), datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
    server = SandboxServer(
        posts,
        x_accounts=[
            XAccount(user_id="1021737162349010945", username="blrcitytraffic"),
            XAccount(user_id="1011905472466219008", username="BlrCityPolice"),
        ],
        facebook_pages=[FacebookPage(page_id="104735829586723", name="Bengaluru City Police")],
        release="manual",
        # a day behind: the bot's own replies are older than every scenario post, as on a platform where a post
        # released later is also written later (Graph's cursor is the newest time read, own replies included)
        clock=lambda: datetime.now(UTC) - timedelta(days=1),
    ).start()
    yield server
    server.stop()


@pytest.mark.timeout(600)  # a shared, loaded machine: four times what it takes on a quiet one
@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_then_three_bots_share_the_work_and_take_over_from_a_killed_one(
    engine: Engine, sandbox: SandboxServer, tmp_path: Path
) -> None:
    receiver = Receiver(partial_leases(engine))
    config = config_for(tmp_path, pg_url_for(engine), sandbox.url)
    env = {**os.environ, **dict.fromkeys(TOKENS, "sandbox-token"), "NOTIFY_REDIRECT_URL": receiver.url}
    env.pop("DATABASE_URL", None)
    bots: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:  # a file: a killed process never drains a pipe
            bot = subprocess.Popen([*RUN, "bot", "-c", str(config)], cwd=ROOT, env=env, stdout=log, stderr=log)
        bots.append(bot)
        receiver.pids.append(bot.pid)
        return bot

    def running() -> list[subprocess.Popen[bytes]]:
        return [b for b in bots if b.returncode is None and b.poll() is None]

    def kill_one_holding_a_lease_mid_send() -> int:
        """Mid-send when the lease holder sends something in time; else mid-cycle, as it polls."""
        caught = receiver.catch(MID_SEND_WAIT_S)
        if caught is None:
            holders = {bot.pid: live_leases_of(engine, bot.pid) for bot in running()}
            caught = max(holders.items(), key=lambda item: item[1])
            logging.getLogger(__name__).warning("no lease holder sent in %.0f s: killing %s mid-cycle", MID_SEND_WAIT_S, caught)
        pid, held = caught
        sending = count(engine, sa.select(sa.func.count()).where(col(OutboxMessage.status) == "sending"))
        os.kill(pid, signal.SIGKILL)
        next(b for b in bots if b.pid == pid).wait(timeout=10)
        receiver.let_go()
        assert held >= 1, (held, sending)
        return pid

    try:
        for name in ("a", "b"):  # two bots
            start(name)
        sandbox.state.release(12)
        wait_until("posts stored", lambda: stored(engine) >= 8, running(), tmp_path)
        sandbox.state.release(8)
        start("c")  # three bots
        wait_until(
            "the third bot running", lambda: "bot running" in (tmp_path / "c.log").read_text(), running(), tmp_path
        )
        sandbox.state.release(20)
        wait_until(
            "a case routed",
            lambda: count(engine, sa.select(sa.func.count()).select_from(Assignment)) > 0,
            running(),
            tmp_path,
        )
        move_deadlines(engine)
        killed = kill_one_holding_a_lease_mid_send()
        sandbox.state.release_all()
        expected = expected_posts(sandbox)

        def todo() -> list[str]:
            return unsettled(engine, expected)

        wait_until(
            "the killed bot's accounts taken over",
            lambda: len(leases(engine)) == 3 and all(pid_of(x.holder) not in (None, killed) for x in leases(engine)),
            running(),
            tmp_path,
        )
        wait_until("all the work done", lambda: not unsettled(engine, expected), running(), tmp_path, todo)
        move_deadlines(engine)  # the late-comers' deadlines too, with two bots racing for them
        time.sleep(3)  # a few more turns of every stage in every bot: nothing more may be sent
        wait_until("all the work done again", lambda: not unsettled(engine, expected), running(), tmp_path, todo)
        survivors = running()
        assert len(survivors) == 2
        for bot in survivors:
            bot.send_signal(signal.SIGTERM)
        for bot in survivors:
            assert bot.wait(timeout=60) == 0, tail(tmp_path)
        received = [r.to_json() for r in sandbox.state.received()]
        posts = [(p.platform, p.external_id) for p in citizens_posts(sandbox)]
    finally:
        for bot in bots:
            if bot.poll() is None:
                bot.kill()
                bot.wait(timeout=10)
        receiver.stop()

    assert_invariants(engine, posts=posts, received=received, delivered=receiver.delivered)
    assert alerts_raised_twice(engine) == []
    with Session(engine) as session:
        taken = session.exec(select(AuditEvent).where(AuditEvent.kind == "lease.taken")).all()
    from_killed = [e for e in taken if pid_of(e.detail.get("previous")) == killed]
    assert from_killed and all(e.detail["epoch"] >= 2 for e in from_killed)
    assert all(x.holder is None for x in leases(engine))  # the clean stops released theirs
    counts = {
        kind: count(engine, sa.select(sa.func.count()).where(col(AuditEvent.kind) == kind))
        for kind in ("reminder.sent", "escalation.step", "overdue.digest", "reply.posted", "notify.sent")
    }
    assert all(counts.values()), counts  # each kind of work happened, so the invariants checked something


def partial_leases(engine: Engine) -> Callable[[int], int]:
    return lambda pid: live_leases_of(engine, pid)


def citizens_posts(sandbox: SandboxServer) -> list[StoredPost]:
    """The scenario's posts but the accounts' own (which are never stored)."""
    return [p for p in sandbox.state.posts() if p.source == "scenario" and p.kind not in ("page_post", "post")]


def expected_posts(sandbox: SandboxServer) -> int:
    return len(citizens_posts(sandbox))
