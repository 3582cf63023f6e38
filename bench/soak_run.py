"""One soak run: sandbox, receiver, a fresh PostgreSQL database and N bot processes; posts released at a
steady rate with faults on, one process killed with SIGKILL and restarted part-way, then drained and measured."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from soak_checks import split_backlog, violations
from soak_faults import FaultSwitch
from soak_fleet import Fleet, environment
from soak_measure import Key, Summary, on_clock, read_trace, summarise
from soak_observe import Freezes, Observer
from soak_world import (
    SERVER_URL,
    TOKEN_ENV,
    config_text,
    create_database,
    drop_database,
    load_texts,
    make_accounts,
    make_posts,
)
from sqlalchemy.engine import Engine

from models.db import make_engine, migrate
from sandbox.receiver import NotificationReceiver

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class RunOptions:
    posts: int
    accounts: int
    processes: int
    duration_s: float
    poll_interval_s: float
    faults: dict[str, float]
    kill_at: float  # fraction of the release time after which one process is killed (0: none)
    drain_s: float
    progress_s: float
    keep: bool
    seed: int = 0
    max_release_s: float | None = None  # stop releasing after this long (the rest is never released)
    server_url: str = SERVER_URL  # the PostgreSQL server the run's database is made in
    x_replies_per_15_min: int | None = None  # X's POST /2/tweets budget per account (None: no limit)


@dataclass
class RunResult:
    options: RunOptions
    summary: Summary
    violations: dict[str, list[str]]  # broken invariants
    backlog: dict[str, list[str]]  # work left undone when the run stopped (none once drained)
    peak_rss_mb: list[float]
    restart_s: list[float]
    faults_added: dict[str, int]
    drained: bool
    database: str
    sandbox_requests: dict[str, int] = field(default_factory=dict)
    bot_cpu_s: list[float] = field(default_factory=list)
    sandbox_cpu_s: float | None = None
    paused_s: float = 0.0  # the machine stood still (wall clock jumps), taken out of ``summary``
    wall_summary: Summary | None = None  # the same on the plain wall clock, pauses included


def _progress(engine: Engine) -> dict[str, int]:
    queries = {
        "stored": "SELECT count(*) FROM mention",
        "classified": "SELECT count(*) FROM mention WHERE classified_at IS NOT NULL",
        "unrouted": "SELECT count(*) FROM complaint WHERE status = 'new'",
        "unhandled": "SELECT count(*) FROM mention WHERE handled_at IS NULL",
        "sent": "SELECT count(*) FROM outbox_message WHERE status = 'sent'",
        "to_send": "SELECT count(*) FROM outbox_message WHERE status IN ('pending', 'sending')",
        "replied": "SELECT count(*) FROM reply WHERE status = 'posted'",
        "to_reply": "SELECT count(*) FROM reply WHERE status IN ('pending', 'sending')",
    }
    with engine.connect() as conn:
        return {name: int(conn.execute(sa.text(q)).scalar_one()) for name, q in queries.items()}


class Releaser:
    """Injects the posts into the sandbox at a steady rate from a thread, noting when each became visible."""

    def __init__(self, sandbox_url: str, posts: list[dict[str, Any]], duration_s: float,
                 max_release_s: float | None = None, cut: threading.Event | None = None) -> None:
        host_port = sandbox_url.removeprefix("http://")
        self._host, _, port = host_port.partition(":")
        self._port = int(port)
        self._posts = posts
        self._interval_s = duration_s / max(1, len(posts))
        self.released: dict[Key, datetime] = {}
        self.done = threading.Event()
        self._max_release_s = max_release_s
        self._cut = cut or threading.Event()  # set from outside: release no more
        self.is_cut_short = False
        self._thread = threading.Thread(target=self._run, name="soak-release", daemon=True)

    def start(self) -> Releaser:
        self._thread.start()
        return self

    @property
    def count(self) -> int:
        return len(self.released)

    @property
    def has_failed(self) -> bool:
        return not self._thread.is_alive() and not self.done.is_set()

    def _run(self) -> None:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
        started = time.monotonic()
        for i, post in enumerate(self._posts):
            wait_s = started + i * self._interval_s - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
            is_late = self._max_release_s is not None and time.monotonic() - started > self._max_release_s
            if is_late or self._cut.is_set():
                self.is_cut_short = True
                break
            conn.request("POST", "/_sandbox/posts", json.dumps(post), {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = json.loads(response.read())
            if response.status != 201:
                raise RuntimeError(f"the sandbox refused a post: {response.status} {body}")
            self.released[(body["platform"], body["id"])] = datetime.now(UTC)
        conn.close()
        self.done.set()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


def _start_sandbox(folder: Path, accounts_json: Path, x_replies: int | None) -> tuple[subprocess.Popen[str], str]:
    limit = [] if x_replies is None else [str(x_replies)]
    proc = subprocess.Popen([sys.executable, str(HERE / "soak_sandbox.py"), str(accounts_json), *limit],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            stderr=(folder / "sandbox.log").open("w"))
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        raise RuntimeError(f"the sandbox did not start: {(folder / 'sandbox.log').read_text()[-2000:]}")
    return proc, url


def _is_drained(counts: dict[str, int], released: int) -> bool:
    return (counts["stored"] >= released and counts["classified"] == counts["stored"] and counts["unrouted"] == 0
            and counts["unhandled"] == 0 and counts["to_send"] == 0 and counts["to_reply"] == 0)


@dataclass(frozen=True)
class Controls:
    """Set from outside the run (``bench/soak.py`` on SIGUSR1): stop releasing now; then, end the drain."""

    cut_release: threading.Event = field(default_factory=threading.Event)
    end_drain: threading.Event = field(default_factory=threading.Event)


def run(options: RunOptions, say: Any, controls: Controls | None = None) -> RunResult:
    """One run; ``say(line)`` prints the progress lines."""
    controls = controls or Controls()
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    name = f"soak_{stamp}_p{options.processes}"
    accounts = make_accounts(options.accounts)
    posts = make_posts(options.posts, accounts, load_texts(), seed=options.seed)
    # --keep keeps the folder too (the bots' logs, the sandbox's, what the receiver got)
    kept = contextlib.nullcontext(tempfile.mkdtemp(prefix=f"{name}_")) if options.keep else None
    with kept or tempfile.TemporaryDirectory(prefix=f"{name}_") as tmp:
        folder = Path(tmp)
        (folder / "accounts.json").write_text(json.dumps([a.to_json() for a in accounts]), encoding="utf-8")
        sandbox, sandbox_url = _start_sandbox(folder, folder / "accounts.json", options.x_replies_per_15_min)
        receiver = NotificationReceiver(record_path=folder / "notifications.jsonl").start()
        url = create_database(name, options.server_url)
        engine = make_engine(url)
        fleet: Fleet | None = None
        try:
            migrate(engine)  # once, before the bots: several processes must not race to create the schema
            config = folder / "config.toml"
            config.write_text(config_text(sandbox_url=sandbox_url, database_url=url, accounts=accounts,
                                          poll_interval_s=options.poll_interval_s), encoding="utf-8")
            fleet = Fleet(options.processes, config, environment(TOKEN_ENV, receiver.officer_url), folder)
            say(f"[{name}] starting {options.processes} bot(s), {options.accounts} accounts, sandbox {sandbox_url}")
            fleet.start()
            result = _drive(options, name, url, engine, fleet, (sandbox.pid, sandbox_url), posts, receiver, say,
                            controls)
            if options.keep:
                say(f"[{name}] logs kept in {folder}")
            return result
        finally:
            if fleet is not None:
                fleet.stop()
            receiver.stop()
            engine.dispose()
            if sandbox.stdin is not None:
                sandbox.stdin.close()
            sandbox.wait(timeout=30)
            if not options.keep:
                drop_database(name, options.server_url)


def _drive(options: RunOptions, name: str, url: str, engine: Engine, fleet: Fleet, sandbox: tuple[int, str],
           posts: list[dict[str, Any]], receiver: NotificationReceiver, say: Any, controls: Controls) -> RunResult:
    sandbox_pid, sandbox_url = sandbox
    observer = Observer(engine).start()
    freezes = Freezes().start()
    faults = FaultSwitch(sandbox_url, options.faults).start()
    releaser = Releaser(sandbox_url, posts, options.duration_s, options.max_release_s, controls.cut_release).start()
    started = time.monotonic()
    next_progress = started + options.progress_s
    killed = options.kill_at <= 0 or options.processes < 1
    release_s = min(options.duration_s, options.max_release_s or options.duration_s)
    restart_s: list[float] = []
    drain_deadline: float | None = None
    drained = False
    while True:
        time.sleep(0.2)
        if releaser.has_failed:
            raise RuntimeError("the release thread stopped: see its traceback above")
        if not killed and time.monotonic() - started >= options.kill_at * release_s:
            killed = True
            say(f"[{name}] kill -9 bot 0 at {releaser.count} released")
            restart_s.append(fleet.kill_and_restart(0))
            say(f"[{name}] bot 0 running again after {restart_s[-1]:.1f} s")
        if releaser.done.is_set() and drain_deadline is None:
            faults.stop()
            drain_deadline = time.monotonic() + options.drain_s
            cut = f" (cut short at --max-release-s: {len(posts) - releaser.count} never released)" \
                if releaser.is_cut_short else ""
            say(f"[{name}] all {releaser.count} released{cut} after {time.monotonic() - started:.0f} s; faults off, draining")
        now = time.monotonic()
        if now >= next_progress or drain_deadline is not None:
            counts = _progress(engine)
            if now >= next_progress:
                next_progress = now + options.progress_s
                say(f"[{name}] {now - started:6.0f} s released {releaser.count} stored {counts['stored']} "
                    f"classified {counts['classified']} unrouted {counts['unrouted']} notified {counts['sent']} "
                    f"(receiver {receiver.count()}, waiting {counts['to_send']}) replied {counts['replied']} "
                    f"(waiting {counts['to_reply']}) bots alive {fleet.alive()}/{options.processes}")
            if drain_deadline is not None and _is_drained(counts, releaser.count):
                drained = True
                break
            if drain_deadline is not None and (now > drain_deadline or controls.end_drain.is_set()):
                say(f"[{name}] not drained {options.drain_s:.0f} s after the last release: measuring as it is")
                break
    say(f"[{name}] {'drained' if drained else 'stopped'} after {time.monotonic() - started:.0f} s; measuring")
    fleet.stop()  # before any snapshot: a bot still at work would post between reading the platform and the database
    observer.stop()
    received = _get_json(sandbox_url + "/_sandbox/received")
    stats = _get_json(sandbox_url + "/_sandbox/stats")
    delivered = list(receiver.received)
    freezes.stop()
    traces = read_trace(engine, releaser.released, delivered, received, observer.seen)
    wall_summary = summarise(traces)
    summary = summarise(on_clock(traces, freezes.machine_time))
    broken, backlog = split_backlog(
        violations(engine, posts=list(releaser.released), received=received, delivered=delivered))
    requests = {path: sum(codes.values()) for path, codes in stats.get("by_path", {}).items()}
    errors = sum(n for codes in stats.get("by_path", {}).values() for code, n in codes.items() if code != "200")
    requests["(answered other than 200)"] = errors
    return RunResult(options, summary, broken, backlog, list(fleet.peak_rss_mb) if fleet.measures_rss else [],
                     restart_s, dict(faults.added), drained, url, requests, fleet.cpu_s() if fleet.measures_rss else [],
                     _cpu_s(sandbox_pid), freezes.total_s, wall_summary)


def _cpu_s(pid: int) -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)
