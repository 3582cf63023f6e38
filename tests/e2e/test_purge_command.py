"""``run.py purge [--dry-run]`` as an operator runs it: counts per table, the same in a dry run (which writes
nothing) as in the run, progress on stderr, and only the run changes the database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from models.db import make_engine, migrate
from tests import runfork
from tests.conftest import ROOT
from tests.integration.test_purge import dump, populate


def purge(config: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    done = runfork.run(["purge", "-c", str(config), *flags], timeout=120)  # a process of its own, forked
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return done


@pytest.mark.slow  # two run.py processes
def test_purge_prints_what_it_removed_and_its_dry_run_the_same_without_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    engine = make_engine(url)
    migrate(engine)
    populate(engine)  # cases closed 20 days before 2026-12-03: past a 1-day retention (and the 14-day reopen window)
    sample = (ROOT / "config.toml").read_text(encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        sample.replace('data_dir = "data"', f'data_dir = "{ROOT / "data"}"')
        .replace('url = "sqlite:///var/police-desk.db"', f'url = "{url}"')
        .replace("personal_data_days = 365", "personal_data_days = 1")
        .replace("audit_detail_days = 365", "audit_detail_days = 1"),
        encoding="utf-8",
    )
    before = dump(engine)

    dry = purge(config, "--dry-run")
    assert dump(engine) == before, "the dry run wrote to the database"
    assert dry.stdout.startswith("dry run: purging what is past retention")
    assert "nothing written" in dry.stdout.splitlines()[-1]

    done = purge(config)
    counted = [line.replace("would change", "changed") for line in dry.stdout.splitlines()[1:-1]]
    assert done.stdout.splitlines()[1:-1] == counted  # the same counts, step by step
    assert "personal data of finished cases: changed cases 4," in done.stdout
    assert "purge cases: cases 4," in done.stderr  # progress, per batch
    assert dump(engine) != before  # a second run's "nothing": tests/integration/test_purge.py
    engine.dispose()
