"""``run.py demo --once`` runs the follow-up days: replies land in the citizens' threads exactly once, officers
act, deadlines pass, citizens write back; a second run on the same database posts nothing new. ``run.py case``
acts on one of its cases as the desk would. Each command is a process of its own, forked by :mod:`tests.runfork`."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests import runfork
from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return runfork.run(args, timeout=600)


def demo(tmp_path: Path, db: str, replies: Path) -> dict[str, Any]:
    done = run("demo", "--once", "--database-url", db, "--replies", str(replies),
               "--notifications", str(tmp_path / "notifications.jsonl"))
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


@pytest.mark.slow
def test_demo_once_answers_every_thread_once_and_a_second_run_posts_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    first = demo(tmp_path, db, tmp_path / "replies.jsonl")
    for key in ("acknowledged", "action_taken", "reminders", "escalations", "reopened", "incidents"):
        assert first[key] > 0, key
    posted = first["replies_posted"]
    assert set(posted) == {"acknowledgement", "emergency", "referral", "thanks", "action_taken", "reopened"}
    received = [json.loads(line) for line in (tmp_path / "replies.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(received) == sum(posted.values()) == first["replies_received"]
    # exactly once: no reply went twice to the same thread with the same marker
    markers = Counter((r["in_reply_to"], r["text"].rsplit("Ref ", 1)[-1]) for r in received)
    assert max(markers.values()) == 1

    cases_json = runfork.run(["cases", "--json"], timeout=300, env={"DATABASE_URL": db, "PATH": "/usr/bin:/bin"})
    assert cases_json.returncode == 0, cases_json.stderr[-2000:]
    cases = json.loads(cases_json.stdout)
    answered = [c for c in cases if c["replies"]]
    assert answered and all({"kind", "platform", "in_reply_to", "external_id", "status", "text"} <= set(r)
                            for c in answered for r in c["replies"])
    assert all(c["timeline"] for c in cases)

    second = demo(tmp_path, db, tmp_path / "replies-2.jsonl")
    assert second["new_mentions"] == 0 and second["replies_received"] == 0
    assert second["replies_posted"] == posted

    open_case = next(c for c in cases if c["status"] == "assigned" and not c["misconduct"])
    holder = next(a["officer_id"] for a in open_case["assignments"] if a["role"] == "assignee" and a["status"] == "open")
    env_db = ["--config", str(ROOT / "config.toml")]
    refused = runfork.run(["case", "act", open_case["docket"], "--officer", "BCP0002", "--note", "done", *env_db],
                          timeout=300, env={"DATABASE_URL": db, "PATH": "/usr/bin:/bin"})
    assert refused.returncode == 1 and "only the officer holding the case" in refused.stderr
    acted = runfork.run(["case", "act", open_case["docket"], "--officer", holder, "--note",
                         "Visited; call me on 98450 12345", *env_db],
                        timeout=300, env={"DATABASE_URL": db, "PATH": "/usr/bin:/bin"})
    assert acted.returncode == 0, acted.stderr[-2000:]
    assert "98450 12345" not in acted.stdout and "the citizen will read:" in acted.stdout
    assert "→ action_taken" in acted.stdout
