"""``run.py`` as a subprocess: the demo's exactly-once storage and a kill -9 in the middle of a poll."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sandbox import FacebookPage, FaultSpec, SandboxServer, XAccount, load_scenario
from tests.builders import write_scenario
from tests.conftest import ROOT, pg_url_for

RUN = [sys.executable, str(ROOT / "run.py")]


def run_once(scenario: Path, database_url: str) -> dict[str, int]:
    done = subprocess.run(
        [*RUN, "demo", "--once", "--scenario", str(scenario), "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])  # type: ignore[no-any-return]


def unique_mentions(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM mention")).scalar_one()
        distinct = conn.execute(
            sa.text("SELECT count(*) FROM (SELECT DISTINCT platform, external_id FROM mention) AS d")
        ).scalar_one()
    return total, distinct


@pytest.mark.slow
def test_demo_once_stores_2000_posts_once_and_nothing_on_a_second_run(engine: Engine, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "big.jsonl", 1000, 1000)
    url = pg_url_for(engine)
    first = run_once(scenario, url)
    assert first["mentions"] == 2000 and first["new_mentions"] == 2000
    second = run_once(scenario, url)
    assert second["mentions"] == 2000 and second["new_mentions"] == 0
    assert unique_mentions(engine) == (2000, 2000)


def test_demo_rejects_a_broken_scenario_with_every_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"platform": "x", "text": "ok", "author": "a", "created_at": "2026-11-20T10:00:00Z"}\n'
        "not json\n"
        '{"platform": "myspace", "text": "t", "author": "a", "created_at": "2026-11-20T10:00:00Z"}\n'
    )
    done = subprocess.run(
        [*RUN, "demo", "--once", "--scenario", str(bad), "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "line 2" in done.stderr and "line 3" in done.stderr


def bot_config(tmp_path: Path, sandbox_url: str, database_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[deployment]
name = "kill test"
city = "bengaluru"
data_dir = "{ROOT / "data"}"
[database]
url = "{database_url}"
[polling]
interval_s = 1
request_timeout_s = 10
backoff_initial_s = 0.2
backoff_max_s = 1
[[accounts]]
platform = "x"
handle = "blrcitytraffic"
user_id = "1021737162349010945"
bearer_token_env = "T"
api_base_url = "{sandbox_url}"
[[accounts]]
platform = "facebook"
page_id = "104735829586723"
name = "Bengaluru City Police"
page_token_env = "T"
api_base_url = "{sandbox_url}"
lookback_days = 3650
"""
        + sample_sections_from("[routing]"),
        encoding="utf-8",
    )
    return config


def sample_sections_from(header: str) -> str:
    """The sample deployment's sections from ``header`` on (routing, notify): the bot runs every stage."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    return "\n" + text[text.index("\n" + header) :]


@pytest.mark.slow
def test_kill_9_mid_poll_loses_and_duplicates_nothing(engine: Engine, tmp_path: Path) -> None:
    scenario = load_scenario(write_scenario(tmp_path / "s.jsonl", 600, 300))
    server = SandboxServer(
        scenario,
        x_accounts=[XAccount(user_id="1021737162349010945", username="blrcitytraffic")],
        facebook_pages=[FacebookPage(page_id="104735829586723", name="Bengaluru City Police")],
    ).start()
    url = pg_url_for(engine)
    # notifications go nowhere beyond this machine: a closed local port
    env = {**os.environ, "T": "sandbox-token", "NOTIFY_REDIRECT_URL": "json://127.0.0.1:9/kill-test"}
    config = bot_config(tmp_path, server.url, url)
    try:
        # round 1 is killed while a mentions request hangs; the others at varied moments after the first
        # request of the new process: mid-fetch, mid-store, between accounts
        server.state.add_fault(FaultSpec(kind="timeout", platform="x", path="/mentions", delay_s=8.0, count=1))
        for delay_s in (0.5, 0.0, 0.05, 0.12, 0.25, 0.4):
            seen = server.state.request_count()
            bot = subprocess.Popen(
                [*RUN, "bot", "-c", str(config)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 120
            while server.state.request_count() == seen and time.monotonic() < deadline:
                assert bot.poll() is None, f"the bot exited on its own (code {bot.returncode}) before polling"
                time.sleep(0.01)
            time.sleep(delay_s)
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
            server.state.clear_faults()
            total, distinct = unique_mentions(engine)
            assert total == distinct  # never a duplicate, whatever the moment of the kill

        restarted = subprocess.Popen(
            [*RUN, "bot", "-c", str(config)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert restarted.stderr is not None  # stderr=PIPE
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and unique_mentions(engine)[1] < 900:
            if restarted.poll() is not None:
                pytest.fail(f"the bot exited (code {restarted.returncode}): {restarted.stderr.read()[-2000:]}")
            time.sleep(0.5)
        restarted.send_signal(signal.SIGTERM)
        _, err = restarted.communicate(timeout=60)
        assert restarted.returncode == 0, err[-2000:]
        assert "bot stopped" in err
    finally:
        server.stop()
    assert unique_mentions(engine) == (900, 900)
