"""kill -9 at random points inside every stage, again and again, on SQLite and PostgreSQL; then the invariants.

The bot (``assembly.build`` with every stage, the real adapters, the sandbox on a real port, notifications to a
local receiver) runs in processes forked by ``tests/e2e/killpoints/zygote.py`` on a simulated clock shared with
the sandbox. Each life is killed with SIGKILL by itself at the Nth hooked call (a commit, an HTTP request,
an Apprise send, a platform post; before or after it) inside one stage, from a simulated moment on; the next
life is a new process on the same database. The kill plan is drawn from a seed (printed; set
``KILL_MATRIX_SEED`` to replay one, ``KILL_MATRIX_REPEATS`` for more kills per stage). After the last kill a
bot runs to the end, and :mod:`tests.invariants` checks the database against what the sandbox and the
receiver got. The next test breaks the crash safety on purpose and shows each check catching it; the last one
shows the other checks naming rows written wrong by hand.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.db import make_engine, migrate
from models.followup import Escalation, Reply
from models.routing import Assignment, OutboxMessage
from models.tables import Account, AuditEvent, Complaint, Mention
from tests.conftest import pg_url_for
from tests.e2e.killpoints.world import World, Zygote, world, write_config
from tests.invariants import assert_invariants, classified_once, escalated_once, routed_once, violations

SEED = int(os.environ.get("KILL_MATRIX_SEED") or 1203)
REPEATS = int(os.environ.get("KILL_MATRIX_REPEATS") or 2)
HOURS, STEP_MIN = 4.0, 30.0
COMMITS = ("commit:before", "commit:after")
# per stage: the simulated minutes its kills fall in (while it has work), the calls they hit, the largest N drawn
KILL_WINDOWS_MIN = {"poll": (0, 120), "classify": (0, 120), "route": (0, 130), "notify": (0, 150),
                    "reply": (0, 110), "escalate": (30, 240)}
KILL_HOOKS = {"poll": (*COMMITS, "http:before", "http:after"), "classify": COMMITS, "route": COMMITS,
              "notify": (*COMMITS, "send:before", "send:after"), "reply": (*COMMITS, "post:before", "post:after"),
              "escalate": COMMITS}
MAX_N = {"poll": 6, "classify": 2, "route": 2, "notify": 8, "reply": 4, "escalate": 3}


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    folder = tmp_path_factory.mktemp("zygote")
    forks = Zygote(write_config(folder / "config.toml", "http://127.0.0.1:9", f"sqlite:///{folder / 'none.db'}"))
    yield forks
    forks.close()


def kill_plans(rng: random.Random, start_at: datetime) -> list[dict[str, Any]]:
    """REPEATS kills per stage, each at the Nth call of a random kind inside it (before or after a commit, an HTTP
    request, a send, a post) from a random moment of its window; in time order."""
    plans = []
    for stage, (low, high) in KILL_WINDOWS_MIN.items():
        for _ in range(REPEATS):
            after = start_at + timedelta(minutes=rng.uniform(low, high))
            hook = rng.choice(KILL_HOOKS[stage])
            plans.append({"stage": stage, "n": rng.randint(1, MAX_N[stage]), "hooks": [hook], "after": after.isoformat()})
    return sorted(plans, key=lambda plan: str(plan["after"]))


def live(forks: Zygote, w: World, config: Path, folder: Path, *, plan: Mapping[str, Any] | None = None,
         breakage: str | None = None, hours: float = HOURS) -> dict[str, Any]:
    """One life of the bot: killed (``killed``) or run to its end (``code`` 0); anything else fails here."""
    job = {
        "config": str(config), "state_dir": str(folder), "sandbox_url": w.sandbox.url,
        "start_at": w.start_at.isoformat(), "hours": hours, "step_min": STEP_MIN,
        "release_at": [t.isoformat() for t in w.release_at], "plan": plan, "breakage": breakage,
        "environ": w.environ(),
    }
    ended = forks.run(job)
    log = folder / "bot.log"
    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.exists() else "(no log)"
    assert ended["killed"] or ended["code"] == 0, f"the bot died on its own ({ended}):\n{tail}"
    return ended


def count(engine: Engine, statement: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


@pytest.mark.slow
def test_kill_9_inside_every_stage_loses_nothing_and_does_nothing_twice(
    engine: Engine, zygote: Zygote, tmp_path: Path
) -> None:
    name = engine.dialect.name
    print(f"kill matrix on {name}: seed {SEED} (KILL_MATRIX_SEED), {REPEATS} kills per stage")  # noqa: T201
    start_at = datetime.now(UTC).replace(microsecond=0)
    plans = kill_plans(random.Random(f"{SEED}:{name}"), start_at)
    with world(start_at, tmp_path / "clock.txt") as w:
        config = write_config(tmp_path / "config.toml", w.sandbox.url, pg_url_for(engine))
        for plan in plans:
            live(zygote, w, config, tmp_path, plan=plan)  # a life the scenario outlasts just ends
        live(zygote, w, config, tmp_path)
        kills = (tmp_path / "kills.log").read_text().splitlines() if (tmp_path / "kills.log").exists() else []
        print("\n".join(kills))  # noqa: T201
        summary = json.loads((tmp_path / "done.json").read_text())
        assert_invariants(engine, posts=w.expected_posts(), received=w.received(), delivered=w.receiver.received)
        landed = Counter(line.split()[2] for line in kills)
        assert all(landed[stage] >= 1 for stage in KILL_WINDOWS_MIN), f"kills per stage: {dict(landed)}; {plans}"
        # a kill counted across several ticks moves the clock on: the last few may find the scenario over
        assert 3 * len(kills) >= 2 * len(plans), f"only {len(kills)} of {len(plans)} kills landed: {kills}; {plans}"
        # the scenario did reach every stage: a check on nothing would prove nothing
        assert count(engine, sa.select(sa.func.count()).select_from(Reply).where(col(Reply.status) == "posted")) >= 20
        assert count(engine, sa.select(sa.func.count()).select_from(OutboxMessage)) >= 60
        assert count(engine, sa.select(sa.func.count()).select_from(Escalation)) >= 5, summary


BREACHES = [
    # the cursor committed before its posts, killed in between: the posts are behind the cursor, lost
    ("cursor_first", {"stage": "poll", "n": 1, "hooks": ["break:cursor:after"]}, "stored_once: post "),
    # a notification left sending by the kill is sent again on restart
    ("notify_resend", {"stage": "notify", "n": 1, "hooks": ["send:after"]}, "delivered 2 times for 1 send"),
    # a reply posted just before the kill is not looked up in the thread: posted again (on Facebook: X itself
    # refuses a duplicate text, and the bot then fails the reply and tells the desk)
    ("reply_no_lookup", {"stage": "reply", "n": 1, "hooks": ["post:after:facebook"]}, "was posted 2 times"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("breakage", "plan", "expected"), BREACHES, ids=[b[0] for b in BREACHES])
def test_each_check_reports_the_breach_it_exists_for(
    breakage: str, plan: dict[str, Any], expected: str, zygote: Zygote, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    migrate(engine)
    start_at = datetime.now(UTC).replace(microsecond=0)
    with world(start_at, tmp_path / "clock.txt", over=timedelta(minutes=30)) as w:
        config = write_config(tmp_path / "config.toml", w.sandbox.url, url)
        assert live(zygote, w, config, tmp_path, plan=plan, breakage=breakage, hours=1)["killed"]
        live(zygote, w, config, tmp_path, breakage=breakage, hours=1)
        found = violations(engine, posts=w.expected_posts(), received=w.received(), delivered=w.receiver.received)
    engine.dispose()
    print(f"{breakage}: {len(found)} violation(s)\n" + "\n".join(found))  # noqa: T201
    assert any(expected in v for v in found), found


def test_the_checks_name_each_row_left_wrong(engine: Engine) -> None:
    """The checks no breach above reaches, on rows written by hand: a post never classified, a case never
    routed and one with two open assignees, a reminder written twice, an escalation step with no event."""
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with Session(engine) as session:
        account = Account(platform="x", key="blrcitytraffic", external_user_id="1", label="x @blrcitytraffic")
        session.add(account)
        session.flush()
        assert account.id is not None
        session.add(Mention(platform="x", external_id="10", account_id=account.id, text="jam", created_at=at))
        new, held = Complaint(category="other", confidence=0.9), Complaint(category="other", confidence=0.9,
                                                                            status="assigned", docket="BLR-2026-000002")
        session.add_all([new, held])
        session.flush()
        assert held.id is not None
        rows = [Assignment(complaint_id=held.id, docket="BLR-2026-000002", officer_id=officer, role="assignee",
                           rule="station", assigned_at=at) for officer in ("BCP0001", "BCP0002")]
        session.add_all(rows)
        session.flush()
        assert rows[0].id is not None
        session.add(Escalation(complaint_id=held.id, assignment_id=rows[0].id, docket="BLR-2026-000002",
                               deadline="acknowledge", step=1, due_at=at, at=at))
        for _ in range(2):
            session.add(AuditEvent(kind="reminder.sent", entity="complaint", entity_id=str(held.id), at=at,
                                   detail={"assignment": rows[0].id, "deadline": "acknowledge"}))
        session.add(AuditEvent(kind="complaint.routed", entity="complaint", entity_id=str(held.id), at=at))
        new_id, assignment_id = new.id, rows[0].id
        session.commit()
    assert any("mention 1 (x 10) was never classified" in v for v in classified_once(engine))
    routing = routed_once(engine)
    assert any(f"case {new_id} (None) was never routed" in v for v in routing), routing
    assert any("(BLR-2026-000002) has 2 open assignees" in v for v in routing), routing
    escalations = escalated_once(engine)
    assert any(f"reminder for assignment {assignment_id}, acknowledge deadline, sent 2 times" in v for v in escalations)
    assert any("step 1 has 0 escalation.step events" in v for v in escalations), escalations
