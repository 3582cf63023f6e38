"""One bot per SQLite file: a second ``run.py bot`` on the same database is refused at start, in one message;
after the first is killed with ``kill -9`` the lock is gone and a new bot starts (issue 12). Each bot is a process
of its own, forked from one that has imported the stack (:mod:`tests.runfork`)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from sandbox import FacebookPage, SandboxServer, XAccount
from tests import runfork
from tests.e2e.test_ingest import bot_config


def wait_for(log: Path, text: str, bot: runfork.Forked, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text(encoding="utf-8", errors="replace"):
        assert bot.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, f"no {text!r} in {timeout_s} s: {log.read_text()[-2000:]}"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_second_bot_on_one_sqlite_file_is_refused_and_a_killed_one_leaves_no_lock(tmp_path: Path) -> None:
    server = SandboxServer(
        [],
        x_accounts=[XAccount(user_id="1021737162349010945", username="blrcitytraffic")],
        facebook_pages=[FacebookPage(page_id="104735829586723", name="Bengaluru City Police")],
    ).start()
    config = bot_config(tmp_path, server.url, f"sqlite:///{tmp_path / 'bot.db'}")
    env = {**os.environ, "T": "sandbox-token", "NOTIFY_REDIRECT_URL": "json://127.0.0.1:9/single"}
    bots: list[runfork.Forked] = []

    def start(name: str) -> tuple[runfork.Forked, Path]:
        log = tmp_path / f"{name}.log"
        bots.append(runfork.Forked(["bot", "-c", str(config)], env=env, stderr=log))
        return bots[-1], log

    try:
        first, first_log = start("first")
        wait_for(first_log, "bot running", first)
        second = runfork.run(["bot", "-c", str(config)], env=env, timeout=120)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert "another bot is already running on the SQLite database" in second.stderr
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        third, third_log = start("third")
        wait_for(third_log, "bot running", third)  # the lock went with the killed process
    finally:
        for bot in bots:
            if bot.poll() is None:
                bot.terminate()
                bot.wait(timeout=20)
        server.stop()
