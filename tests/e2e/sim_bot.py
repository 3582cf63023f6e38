"""The whole bot in this process on a simulated clock, for fault tests: an hour of platform trouble runs in seconds.

``SimBot`` is what ``run.py bot`` runs (``assembly.build`` with every stage, the real adapters, the sandbox on a real
port), except that time is a :class:`SimClock` shared with the sandbox and that :meth:`SimBot.tick` takes one turn
of every lane (each account's poll, then every stage, each through ``guarded`` as ``Bot.run_forever`` does) and then
moves the clock on by the polling interval. Notifications go to a :class:`Receiver` (``NOTIFY_REDIRECT_URL``).
The classifier is loaded once per test process (it is the slow part of ``build``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import select

import assembly.build
from assembly.build import Assembly, build
from assembly.settings import Settings, load_settings
from models.db import session_scope
from models.tables import Mention
from monitor.loop import Bot, PolledAccount, guarded
from routing.jurisdictions import Jurisdictions
from sandbox import FacebookPage, SandboxServer, ScenarioPost, XAccount
from tests.conftest import ROOT
from tests.e2e.test_ingest import sample_sections_from
from tests.invariants import assert_invariants

if TYPE_CHECKING:
    from classifiers.pipeline import Classifier

X_USER = "1021737162349010945"
X_HANDLE = "blrcitytraffic"
PAGE = "104735829586723"
TOKEN = "sandbox-token"
LOAD_CLASSIFIER = assembly.build.load_classifier


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Receiver:
    """A local JSON webhook (Apprise ``json://``) that can be down: ``refusing`` (no listener on its port:
    connection refused), ``failing_status`` (answers that status), or up (200, and keeps what it got)."""

    port: int = 0
    failing_status: int | None = None
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, body) accepted
    attempts: int = 0
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.attempts += 1
                status = receiver.failing_status
                if status is None:
                    receiver.received.append((self.path, body))
                self.send_response(status or 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.allow_reuse_address = True
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        """Down: nothing listens on the port any more (connection refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def delivered(self) -> list[dict[str, Any]]:
        """What tests/invariants.py reads: each message with the officer it was for (the redirect's last part)."""
        return [{"officer": path.rsplit("/", 1)[-1], "body": body} for path, body in self.received]

    def titles(self, path_prefix: str = "/") -> list[str]:
        return [str(body.get("title", "")) for path, body in self.received if path.startswith(path_prefix)]


def x_mention(i: int, created_at: datetime) -> ScenarioPost:
    return ScenarioPost(platform="x", text=f"@{X_HANDLE} car parked on the footpath at Koramangala 5th Block, report {i}",
                        author=f"citizen{i}", created_at=created_at, account=X_HANDLE, kind="mention")


def fb_comment(i: int, created_at: datetime) -> ScenarioPost:
    return ScenarioPost(platform="facebook", text=f"Chain snatching near Indiranagar 100 feet road metro station, case {i}",
                        author=f"Resident {i}", created_at=created_at, account=PAGE, kind="comment")


def start_sandbox(clock: SimClock) -> SandboxServer:
    return SandboxServer(
        [],
        x_accounts=[XAccount(user_id=X_USER, username=X_HANDLE)],
        facebook_pages=[FacebookPage(page_id=PAGE, name="Bengaluru City Police")],
        clock=clock,
    ).start()


def write_config(folder: Path, sandbox_url: str, database_url: str, *, interval_s: float = 300,
                 request_timeout_s: float = 2, backoff_initial_s: float = 5, backoff_max_s: float = 900) -> Path:
    """The sample deployment (routing, notify, follow-up, watch) with one X account and one Facebook page on the
    sandbox; ``interval_s`` is also how far :meth:`SimBot.tick` moves the clock."""
    config = folder / "config.toml"
    config.write_text(
        f"""
[deployment]
name = "fault test"
city = "bengaluru"
data_dir = "{ROOT / "data"}"
[database]
url = "{database_url}"
[polling]
interval_s = {interval_s}
request_timeout_s = {request_timeout_s}
backoff_initial_s = {backoff_initial_s}
backoff_max_s = {backoff_max_s}
[[accounts]]
platform = "x"
handle = "{X_HANDLE}"
user_id = "{X_USER}"
bearer_token_env = "T"
consumer_key_env = "T"
consumer_secret_env = "T"
access_token_env = "T"
access_token_secret_env = "T"
api_base_url = "{sandbox_url}"
[[accounts]]
platform = "facebook"
page_id = "{PAGE}"
name = "Bengaluru City Police"
page_token_env = "T"
api_base_url = "{sandbox_url}"
lookback_days = 30
"""
        + sample_sections_from("[routing]"),
        encoding="utf-8",
    )
    return config


def bot_environ(receiver: Receiver) -> dict[str, str]:
    return {**os.environ, "T": TOKEN, "NOTIFY_REDIRECT_URL": receiver.url("notify/{officer}")}


_CLASSIFIERS: list[Classifier] = []


def cached_classifier(settings: Settings, jurisdictions: Jurisdictions | None) -> Classifier:
    """``load_classifier`` once per test process: every test here runs the same deployment (city, VIP lists)."""
    if not _CLASSIFIERS:
        _CLASSIFIERS.append(LOAD_CLASSIFIER(settings, jurisdictions))
    return _CLASSIFIERS[0]


@dataclass
class SimBot:
    assembly: Assembly
    bot: Bot
    clock: SimClock
    sandbox: SandboxServer
    receiver: Receiver

    @property
    def x(self) -> PolledAccount:
        return next(a for a in self.bot.accounts if a.platform.platform == "x")

    @property
    def fb(self) -> PolledAccount:
        return next(a for a in self.bot.accounts if a.platform.platform == "facebook")

    def poll(self, account: PolledAccount) -> None:
        guarded(f"poll {account.platform.label}", lambda: self.bot.poll(account))()

    def tick(self, *, polls: bool = True) -> None:
        """One turn of every lane, then the clock moves on by the polling interval."""
        if polls:
            for account in self.bot.accounts:
                self.poll(account)
        self.bot.run_stages()
        self.clock.advance(self.bot.polling.interval_s)

    def run_for(self, seconds: float) -> Iterator[datetime]:
        """Tick until ``seconds`` of simulated time have passed; yields the time before each tick."""
        until = self.clock() + timedelta(seconds=seconds)
        while self.clock() < until:
            yield self.clock()
            self.tick()


def make_sim_bot(monkeypatch: pytest.MonkeyPatch, folder: Path, database_url: str, clock: SimClock,
                 **polling: float) -> SimBot:
    """The bot as ``run.py bot`` builds it, on ``database_url``, against a fresh sandbox and receiver on the clock.
    The caller stops it with :func:`stop_sim_bot`."""
    sandbox = start_sandbox(clock)
    receiver = Receiver().start()
    config = write_config(folder, sandbox.url, database_url, **polling)
    environ = bot_environ(receiver)
    settings = load_settings(config, environ)
    monkeypatch.setattr(assembly.build, "load_classifier", cached_classifier)
    built = build(settings, environ, clock=clock)
    assert built.engine is not None
    bot = Bot(built.engine, built.accounts, built.stages, settings.polling, clock)
    return SimBot(built, bot, clock, sandbox, receiver)


def stop_sim_bot(sim: SimBot) -> None:
    sim.assembly.close()
    sim.sandbox.stop()
    sim.receiver.stop()


def start_of_sim() -> datetime:
    """Simulated time begins now (the page's lookback and the sandbox's rate windows count from it)."""
    return datetime.now(UTC).replace(microsecond=0)


def desk_alerts(receiver: Receiver, needle: str) -> Mapping[str, list[str]]:
    """The operator alerts (raised and cleared) each desk officer got whose text holds ``needle``."""
    found: dict[str, list[str]] = {}
    for path, body in receiver.received:
        title = str(body.get("title", ""))
        if needle in title and title.startswith(("Needs a person", "Recovered")):
            found.setdefault(path.rsplit("/", 1)[-1], []).append(title)
    return found



def citizens_posts(sandbox: SandboxServer) -> set[tuple[str, str]]:
    """(platform, id) of every post the test put on the sandbox (not the bot's own replies)."""
    return {(p.platform, p.external_id) for p in sandbox.state.posts() if p.source in ("scenario", "injected")}


def assert_all_well(sim: SimBot, *, skipped: frozenset[tuple[str, str]] = frozenset()) -> None:
    """The invariants (tests/invariants.py) once the trouble is over: every citizen's post stored once (``skipped``,
    unreadable items, never), classified, filed and routed once; every notification and reply delivered at most once
    and at least once, or failed with a person told."""
    posts = citizens_posts(sim.sandbox)
    assert skipped <= posts
    with session_scope(sim.bot.engine) as session:
        kept = set(session.exec(select(Mention.platform, Mention.external_id)).all())
    assert not kept & skipped, "an unreadable item was stored"
    assert_invariants(
        sim.bot.engine,
        posts=posts - skipped,
        received=[r.to_json() for r in sim.sandbox.state.received()],
        delivered=sim.receiver.delivered(),
    )
