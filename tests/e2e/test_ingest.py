"""``run.py`` as a process of its own: the demo's exactly-once storage, and kill -9 at any moment of a poll: no
stored post ever lies beyond the stored cursor, and in the end every post is stored once. The processes are
forked from one that has imported the stack (:mod:`tests.runfork`): a kill -9 kills a whole process all the same."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.tables import Account, Mention, PollCursor
from sandbox import FacebookPage, FaultSpec, SandboxServer, StoredPost, XAccount, load_scenario
from tests import runfork
from tests.builders import write_scenario
from tests.conftest import ROOT, pg_url_for

RUN = [sys.executable, str(ROOT / "run.py")]


def run_once(scenario: Path, database_url: str) -> dict[str, int]:
    done = runfork.run(
        # storage only: no simulated follow-up days (tests/e2e/test_demo_followup.py runs those)
        ["demo", "--once", "--scenario", str(scenario), "--database-url", database_url, "--followup-hours", "0"],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])  # type: ignore[no-any-return]


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(Mention)).scalar_one())


def stored_posts(engine: Engine) -> Counter[tuple[str, str]]:
    """(platform, text) of every stored mention, with how many times each is stored."""
    with engine.connect() as conn:
        return Counter(
            (platform, text) for platform, text in conn.execute(sa.select(col(Mention.platform), col(Mention.text)))
        )


def cursor_problems(engine: Engine, on_platforms: Sequence[StoredPost]) -> list[str]:
    """What a kill -9 must never leave behind: a stored post beyond its account's stored cursor (committed
    without the cursor that covers it: the next poll reads it again), or a post the stored cursor has
    passed that is not stored (the cursor committed ahead of its posts: lost for good).

    X: the cursor is the ``since_id`` of the last complete range; a range read only in part is kept in
    ``resume`` (``until_id`` = the oldest id read, ``newest_id`` = the newest of the range): the posts
    covered are those up to ``since_id`` and those of the resumed range. Facebook: the cursor is the newest
    ``created_time`` stored, to the second; posts of that very second are read again, so they may go either
    way. One account per platform here, so cursors are looked up by platform.
    """
    with engine.connect() as conn:
        account_cursor = sa.select(col(Account.platform), col(PollCursor.cursor), col(PollCursor.resume)).join(
            PollCursor, col(PollCursor.account_id) == col(Account.id)
        )
        cursors = {platform: (cursor, resume) for platform, cursor, resume in conn.execute(account_cursor)}
        stored = {
            (platform, external_id): created_at
            for platform, external_id, created_at in conn.execute(
                sa.select(col(Mention.platform), col(Mention.external_id), col(Mention.created_at))
            )
        }

    def covered(platform: str, external_id: str, created_at: datetime) -> bool | None:
        """Whether the stored cursor covers the post (None: it may go either way)."""
        cursor, resume = cursors[platform]
        if platform == "x":
            partial_range = json.loads(resume) if resume else {}
            low, high = int(partial_range.get("until_id") or 0), int(partial_range.get("newest_id") or 0)
            return int(external_id) <= int(cursor or 0) or low <= int(external_id) <= high
        if cursor is None:
            return False
        second, since = created_at.replace(microsecond=0), datetime.fromisoformat(cursor)
        return None if second == since else second < since

    problems = [
        f"{platform} {external_id} ({created_at:%H:%M:%S}) is stored beyond the cursor {cursors[platform]}"
        for (platform, external_id), created_at in stored.items()
        if covered(platform, external_id, created_at) is False
    ]
    problems += [
        f"{p.platform} {p.external_id} ({p.created_at:%H:%M:%S}) is behind the cursor {cursors[p.platform]} "
        "but not stored"
        for p in on_platforms
        if p.source == "scenario"
        and (p.platform, p.external_id) not in stored
        and covered(p.platform, p.external_id, p.created_at)
    ]
    return problems


@pytest.mark.slow
def test_demo_once_stores_2000_posts_once_and_nothing_on_a_second_run(engine: Engine, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "big.jsonl", 1000, 1000)
    url = pg_url_for(engine)
    first = run_once(scenario, url)
    assert first["mentions"] == 2000 and first["new_mentions"] == 2000
    second = run_once(scenario, url)
    assert second["mentions"] == 2000 and second["new_mentions"] == 0
    assert stored_posts(engine) == Counter((p.platform, p.text) for p in load_scenario(scenario))


def test_demo_rejects_a_broken_scenario_with_every_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"platform": "x", "text": "ok", "author": "a", "created_at": "2026-11-20T10:00:00Z"}\n'
        "not json\n"
        '{"platform": "myspace", "text": "t", "author": "a", "created_at": "2026-11-20T10:00:00Z"}\n'
    )
    done = runfork.run(["demo", "--once", "--scenario", str(bad), "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
                       timeout=120)
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
lookback_days = 30
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
    # posts of the last day, so the page's lookback reaches them whatever day the test runs
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    scenario = load_scenario(write_scenario(tmp_path / "s.jsonl", 600, 300, start=start))
    server = SandboxServer(
        scenario,
        x_accounts=[XAccount(user_id="1021737162349010945", username="blrcitytraffic")],
        facebook_pages=[FacebookPage(page_id="104735829586723", name="Bengaluru City Police")],
        release="manual",
    ).start()
    url = pg_url_for(engine)
    # notifications go nowhere beyond this machine: a closed local port
    env = {**os.environ, "T": "sandbox-token", "NOTIFY_REDIRECT_URL": "json://127.0.0.1:9/kill-test"}
    config = bot_config(tmp_path, server.url, url)

    log = tmp_path / "bot.log"  # a file, not a pipe: a process that is killed never has its pipe drained

    def start_bot() -> runfork.Forked:
        return runfork.Forked(["bot", "-c", str(config)], env=env, stdout=runfork.DEVNULL, stderr=log)

    def wait_until_above(bot: runfork.Forked, what: str, count: Callable[[], int], above: int) -> None:
        deadline = time.monotonic() + 120
        while count() <= above:
            if bot.poll() is not None:
                pytest.fail(f"the bot exited (code {bot.returncode}) before {what}: {log.read_text()[-2000:]}")
            assert time.monotonic() < deadline, f"the bot took over 120 s for {what}: {log.read_text()[-2000:]}"
            time.sleep(0.01)

    try:
        # Posts arrive in batches while the bot runs. Kill 1 lands while a mentions request hangs; each
        # later one lands a varied moment after the new process's first commit, with the next batch just
        # released: mid-fetch, mid-store, between accounts, between polls.
        server.state.add_fault(FaultSpec(kind="timeout", platform="x", path="/mentions", delay_s=8.0, count=1))
        for kill, delay_s in enumerate((0.5, 0.0, 0.05, 0.12, 0.25, 0.4), start=1):
            server.state.release(75)
            seen, stored_before = server.state.request_count(), stored_count(engine)
            bot = start_bot()
            if kill == 1:
                wait_until_above(bot, "its first request", server.state.request_count, seen)
            else:
                wait_until_above(bot, "storing a post", partial(stored_count, engine), stored_before)
                server.state.release(75)
            time.sleep(delay_s)
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
            server.state.clear_faults()
            problems = cursor_problems(engine, server.state.posts())
            assert not problems, f"after kill {kill} (+{delay_s} s), {len(problems)} problem(s): {problems[:3]}"

        server.state.release_all()
        restarted = start_bot()
        wait_until_above(restarted, "storing every post", partial(stored_count, engine), len(scenario) - 1)
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=60)
        err = log.read_text()
        assert restarted.returncode == 0, err[-2000:]
        assert "bot stopped" in err
        on_platforms = server.state.posts()
    finally:
        server.stop()
    assert not cursor_problems(engine, on_platforms)
    with engine.connect() as conn:
        stored_ids = {
            (platform, external_id)
            for platform, external_id in conn.execute(sa.select(col(Mention.platform), col(Mention.external_id)))
        }
    assert stored_ids == {(p.platform, p.external_id) for p in on_platforms if p.source == "scenario"}
    assert stored_posts(engine) == Counter((p.platform, p.text) for p in scenario)  # each post once, none lost
