"""Every start-up problem is one clear message and exit 2, the same from check-config, bot and demo. Each command
is a ``run.py`` process of its own, forked from one that has imported the stack (:mod:`tests.runfork`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import runfork
from tests.conftest import ROOT

SAMPLE = (ROOT / "config.toml").read_text(encoding="utf-8")
ENV = {
    **os.environ,
    "X_BLRCITYTRAFFIC_BEARER_TOKEN": "t",
    "X_BLRCITYPOLICE_BEARER_TOKEN": "t",
    "FB_BCP_PAGE_TOKEN": "t",
    "DATABASE_URL": "",
}
BROKEN = {
    "typo": (('interval_s = 60', 'intervl_s = 60'), "polling.intervl_s: unknown key; did you mean interval_s?"),
    "timezone": (('timezone = "Asia/Kolkata"', 'timezone = "Mars/Olympus"'), "unknown time zone 'Mars/Olympus'"),
    "attempts": (("max_attempts = 6                 # then the message", "max_attempts = -1 # then the message"), "notify.max_attempts"),
    "choice": (('other_outcome = "desk"', 'other_outcome = "bin"'), "routing.other_outcome"),
    "people_dir": (('people_dir = "bengaluru"', 'people_dir = "nowhere"'), "routing.people_dir: no such folder"),
    "minutes": (("acknowledge_min = 120", 'acknowledge_min = "soon"'), "routing.deadlines.acknowledge_min"),
}


def config_with(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The sample config with ``edits`` applied, written beside a copy of its data folder's path."""
    text = SAMPLE.replace('data_dir = "data"', f'data_dir = "{ROOT / "data"}"').replace(
        'scenario = "data/', f'scenario = "{ROOT / "data"}/'
    )
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str, env: dict[str, str] = ENV) -> subprocess.CompletedProcess[str]:
    return runfork.run(args, timeout=120, env=env)


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  - ") or "problem" in line]


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_check_config_bot_and_demo_refuse_a_broken_config_alike(kind: str, tmp_path: Path) -> None:
    edit, expected = BROKEN[kind]
    config = config_with(tmp_path, edit)
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    outcomes = {
        "check-config": run("check-config", "-c", str(config)),
        "bot": run("bot", "-c", str(config)),
        "demo": run("demo", "--once", "-c", str(config), "--database-url", db),
    }
    for command, done in outcomes.items():
        assert done.returncode == 2, (command, done.stderr[-2000:])
        assert expected in done.stderr, (command, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, command
    first = problem_lines(outcomes["check-config"].stderr)
    assert all(problem_lines(d.stderr) == first for d in outcomes.values())


def test_several_problems_are_named_in_one_message(tmp_path: Path) -> None:
    config = config_with(tmp_path, *(edit for edit, _ in BROKEN.values()))
    done = run("check-config", "-c", str(config))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for _, expected in BROKEN.values():
        assert expected in done.stderr
    assert f"{len(BROKEN)} problem(s)" in done.stderr


def test_a_traceback_only_with_verbose(tmp_path: Path) -> None:
    config = config_with(tmp_path, BROKEN["timezone"][0])
    done = run("check-config", "-c", str(config), "--verbose")
    assert done.returncode == 2 and "Traceback" in done.stderr and "Mars/Olympus" in done.stderr


@pytest.mark.slow
def test_bad_people_data_is_found_by_check_config_before_the_bot_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "bengaluru", data / "bengaluru")
    shutil.copytree(ROOT / "data" / "templates", data / "templates")
    officers = data / "bengaluru" / "officers.csv"
    lines = officers.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[3], "blr-no-such-station", 1)  # the first officer's unit
    officers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = config_with(tmp_path).read_text(encoding="utf-8").replace(str(ROOT / "data"), str(data), 1)
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    for command in ("check-config", "bot"):
        done = run(command, "-c", str(tmp_path / "config.toml"))
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert "blr-no-such-station" in done.stderr and "people data" in done.stderr


def test_an_unreachable_database_is_one_message(tmp_path: Path) -> None:
    config = config_with(tmp_path)
    env = {**ENV, "DATABASE_URL": "postgresql+psycopg://bot:hunter2@127.0.0.1:9/police"}
    done = run("cases", "-c", str(config), env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot reach" in done.stderr and "127.0.0.1:9" in done.stderr
    assert "hunter2" not in done.stderr  # the password is masked


def test_the_sample_config_checks_out(tmp_path: Path) -> None:
    done = run("check-config", env={**ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3 account(s)" in done.stdout and "officers" in done.stdout
    assert not (tmp_path / "x.db").exists() or (tmp_path / "x.db").stat().st_size == 0  # nothing started or written
