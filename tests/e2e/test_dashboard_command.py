"""``run.py dashboard`` as an operator runs it: refused without its signing secret, served with it (each a process
of its own, forked by :mod:`tests.runfork`)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import requests

from tests import runfork


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "DASHBOARD_SECRET_KEY"}
    return {**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}", **extra}


def test_without_its_secret_the_dashboard_is_refused_in_one_message(tmp_path: Path) -> None:
    done = runfork.run(["dashboard"], timeout=120, env=env(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "DASHBOARD_SECRET_KEY is not set" in done.stderr and "token_urlsafe" in done.stderr
    short = runfork.run(["dashboard"], timeout=120, env=env(tmp_path, DASHBOARD_SECRET_KEY="too-short"))
    assert short.returncode == 2 and "at least 32" in short.stderr


def test_with_its_secret_the_dashboard_serves_sign_in_and_health(tmp_path: Path) -> None:
    port = free_port()
    server = runfork.Forked(["dashboard", "--port", str(port)], env=env(tmp_path, DASHBOARD_SECRET_KEY="k" * 40),
                            stdout=runfork.DEVNULL, stderr=tmp_path / "dashboard.log")
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        assert answer is not None and answer.status_code == 200, "the dashboard did not answer"
        health = requests.get(f"http://127.0.0.1:{port}/health.json", timeout=5).json()
        assert health["status"] in ("ok", "problem") and "accounts" in health
        assert requests.get(f"http://127.0.0.1:{port}/leaderboard", timeout=5, allow_redirects=False).status_code == 303
    finally:
        server.terminate()
        server.wait(timeout=20)
