"""bench/soak.py: its options, and a small run end to end (sandbox, one bot on a fresh PostgreSQL database,
faults on, the receiver): every post stored, classified, routed, notified and answered once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PG_ADMIN_URL, ROOT, postgres_available

sys.path.insert(0, str(ROOT / "bench"))

import soak  # noqa: E402
from soak_faults import parse_faults  # noqa: E402


def test_the_options_give_the_runs_asked_for() -> None:
    args = soak.parse_args(["--posts", "5000", "--compare", "1,3", "--faults", "burst:10,rate_limit:5"])
    assert args.compare == [1, 3]
    runs = [soak.options_for(args, n) for n in args.compare]
    assert [r.processes for r in runs] == [1, 3]
    assert runs[0].duration_s == 100.0  # 50 posts a second unless told
    assert runs[0].faults == {"burst": 10.0, "rate_limit": 5.0}
    assert parse_faults("none") == {}


@pytest.mark.parametrize(
    "argv",
    [["--compare", "0,3"], ["--compare", "one"], ["--faults", "flood:3"], ["--faults", "burst:-1"],
     ["--kill-at", "1.5"], ["--posts", "0"]],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        soak.parse_args(argv)
    assert refused.value.code == 2


@pytest.mark.slow
@pytest.mark.postgres
def test_a_small_soak_holds_every_invariant() -> None:
    reason = postgres_available()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true the PostgreSQL tests must run")
        pytest.skip(reason)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--posts", "120", "--accounts", "4", "--processes", "1",
         "--duration-s", "4", "--poll-interval-s", "1", "--kill-at", "0", "--faults", "burst:3,rate_limit:2",
         "--progress-s", "5", "--drain-s", "240", "--postgres", PG_ADMIN_URL],
        capture_output=True, text=True, timeout=420, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "posts stored / released" in done.stdout and "120 / 120" in done.stdout
    for check in ("stored_once", "routed_once", "notified_once", "replied_once"):
        assert f"{check}: holds" in done.stdout, done.stdout[-3000:]


def test_the_x_reply_budget_reaches_the_soaks_sandbox() -> None:
    args = soak.parse_args(["--x-replies-per-15-min", "100"])
    assert soak.options_for(args, 3).x_replies_per_15_min == 100
    assert soak.options_for(soak.parse_args([]), 3).x_replies_per_15_min is None  # the soak's default: no limit


def test_a_pause_of_the_whole_machine_is_taken_out_of_the_latencies() -> None:
    from datetime import UTC, datetime, timedelta

    from soak_measure import PostTrace, on_clock
    from soak_observe import Freezes

    t0 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    freezes = Freezes()
    freezes.pauses = [(t0 + timedelta(seconds=10), 30.0), (t0 + timedelta(seconds=60), 5.0)]
    trace = PostTrace(t0 + timedelta(seconds=5), notified_at=t0 + timedelta(seconds=45),
                      replied_at=t0 + timedelta(seconds=70))
    moved = on_clock({("x", "1"): trace}, freezes.machine_time)[("x", "1")]
    assert moved.notified_at is not None and moved.replied_at is not None
    assert (moved.notified_at - moved.released_at).total_seconds() == 10  # 40 s of wall clock, 30 s paused
    assert (moved.replied_at - moved.released_at).total_seconds() == 30
