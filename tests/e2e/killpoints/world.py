"""What the kill matrix's bots run against: the sandbox with part of the demo scenario, a notification
receiver, the deployment's config, and the client of the zygote that forks the bot processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any

from assembly.demo import shift_to_now
from sandbox import FacebookPage, SandboxServer, ScenarioPost, XAccount, load_scenario
from sandbox.receiver import NotificationReceiver
from tests.conftest import ROOT
from tests.e2e.test_ingest import sample_sections_from

X_USER, X_HANDLE, PAGE = "1021737162349010945", "blrcitytraffic", "104735829586723"
SCENARIO = ROOT / "data" / "scenarios" / "bengaluru_demo.jsonl"
SCENARIO_LINES = (slice(0, 30), slice(75, 100))  # @blrcitytraffic's mentions, the page's posts and comments
TOKEN = "sandbox-token"
POSTS_OVER = timedelta(hours=2)


def write_config(path: Path, sandbox_url: str, database_url: str) -> Path:
    """The sample deployment (VIP lists, routing, deadlines, notify, follow-up, watch) on one X account and the
    page, on the sandbox; pages of 10 posts, so a poll reads several."""
    tokens = "\n".join(f'{name} = "T"' for name in ("bearer_token_env", "consumer_key_env", "consumer_secret_env",
                                                     "access_token_env", "access_token_secret_env"))
    path.write_text(
        f"""
[deployment]
name = "kill matrix"
city = "bengaluru"
timezone = "Asia/Kolkata"
docket_prefix = "BLR"
data_dir = "{ROOT / "data"}"
[database]
url = "{database_url}"
[polling]
interval_s = 60
max_results = 10
request_timeout_s = 10
backoff_initial_s = 5
backoff_max_s = 60
[[accounts]]
platform = "x"
handle = "{X_HANDLE}"
user_id = "{X_USER}"
{tokens}
api_base_url = "{sandbox_url}"
[[accounts]]
platform = "facebook"
page_id = "{PAGE}"
name = "Bengaluru City Police"
page_token_env = "T"
api_base_url = "{sandbox_url}"
lookback_days = 30
"""
        + sample_sections_from("[vip]"),
        encoding="utf-8",
    )
    return path


@dataclass
class World:
    sandbox: SandboxServer
    receiver: NotificationReceiver
    start_at: datetime
    release_at: list[datetime]  # when each post (oldest first) appears on its platform

    def expected_posts(self) -> list[tuple[str, str]]:
        """The citizens' posts of the scenario (not the page's own): each must be stored once."""
        return [(p.platform, p.external_id) for p in self.sandbox.state.posts(include_hidden=True)
                if p.source == "scenario" and p.kind != "page_post"]

    def received(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.sandbox.state.received()]

    def environ(self) -> dict[str, str]:
        return {"T": TOKEN, "NOTIFY_REDIRECT_URL": self.receiver.officer_url}


def spread(posts: Sequence[ScenarioPost], start_at: datetime, over: timedelta) -> list[ScenarioPost]:
    """The citizens' posts (X ids fixed first) moved onto ``over`` from ``start_at`` on, oldest first, in their
    order; the page's own posts (always shown) an hour before."""
    fixed = shift_to_now(posts, max(p.created_at for p in posts))
    citizens = [p.created_at for p in fixed if p.kind != "page_post"]
    first, last = min(citizens), max(citizens)
    scale = over / max(last - first, timedelta(seconds=1))
    moved = [replace(p, created_at=start_at - timedelta(hours=1) if p.kind == "page_post"
                     else start_at + (p.created_at - first) * scale) for p in fixed]
    return sorted(moved, key=lambda p: p.created_at)


class FileClock:
    """The bot's simulated time, read from the file its processes keep (``start_at`` before the first)."""

    def __init__(self, path: Path, start_at: datetime) -> None:
        self.path, self.start_at = path, start_at

    def __call__(self) -> datetime:
        try:
            return datetime.fromisoformat(self.path.read_text().strip())
        except (OSError, ValueError):  # not written yet, or caught mid-write
            return self.start_at


@contextmanager
def world(start_at: datetime, clock_file: Path, over: timedelta = POSTS_OVER) -> Iterator[World]:
    """The sandbox, on the bots' simulated clock, with the scenario's posts spread over ``over`` (each shown
    once its time has come: the bot releases them) and the notification receiver."""
    posts = load_scenario(SCENARIO)
    chosen = spread([p for lines in SCENARIO_LINES for p in posts[lines]], start_at, over)
    sandbox = SandboxServer(
        chosen,
        x_accounts=[XAccount(user_id=X_USER, username=X_HANDLE)],
        facebook_pages=[FacebookPage(page_id=PAGE, name="Bengaluru City Police")],
        release="manual",
        clock=FileClock(clock_file, start_at),
    ).start()
    receiver = NotificationReceiver().start()
    try:
        yield World(sandbox, receiver, start_at, [p.created_at for p in chosen])
    finally:
        receiver.stop()
        sandbox.stop()


class Zygote:
    """The client of ``python -m tests.e2e.killpoints.zygote``: one bot process per :meth:`run`."""

    def __init__(self, config: Path, timeout_s: float = 300) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.killpoints.zygote", str(config)],
            cwd=ROOT, env={**os.environ, "T": TOKEN}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True,  # its own process group: the bots it forks end with it in close()
        )
        self._lines: Queue[str] = Queue()
        assert self._process.stdout is not None
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        assert self._next(timeout_s) == "ready"

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line.strip())
        self._lines.put("")

    def _next(self, timeout_s: float) -> str:
        try:
            line = self._lines.get(timeout=timeout_s)
        except Empty:
            raise AssertionError(f"the zygote said nothing in {timeout_s} s") from None
        assert line, f"the zygote ended (code {self._process.poll()})"
        return line

    def run(self, job: Mapping[str, Any], timeout_s: float = 300) -> dict[str, Any]:
        """Fork one bot for ``job`` and wait for its end: ``{"pid", "killed", "code"}``."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(job) + "\n")
        self._process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._next(timeout_s))
        return answer

    def close(self) -> None:
        """End the zygote (its stdin closed, it ends after the bot in progress); a bot that hangs is killed."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)
