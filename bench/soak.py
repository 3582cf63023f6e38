"""Soak and load bench: many posts over many accounts through several ``run.py bot`` processes on one
PostgreSQL, with the sandbox's faults on and one bot killed with SIGKILL and restarted part-way.

Each run gets a fresh database in the local server (``soak_<time>_p<N>``, dropped after unless ``--keep``),
its own sandbox process (20 accounts: X and Facebook) and a local receiver for the officers' messages
(``NOTIFY_REDIRECT_URL``). Posts come from the authored and the real corpus and are released at a steady
rate over ``--duration-s``. Measured: posts stored / classified / routed / notified / replied per second,
p50/p95 latency from a post's release to each (notified: to its officer's message at the receiver, for the
posts that opened their case; replied: the acknowledgement reaching the sandbox), peak RSS per process,
and the invariants at the end (tests/invariants.py). ``--compare 1,3`` runs 1 and 3 processes side by side
in one invocation and prints the ratio. ``kill -USR1`` the script to stop releasing (the run drains and is
measured as if cut by ``--max-release-s``); a second one ends the drain. This VM is sometimes paused
whole (its wall clock then jumps ahead): the latencies and rates leave those pauses out (the table says
how long they were, and gives the wall-clock p95 too).

    nice -n 10 .venv/bin/python bench/soak.py --posts 5000 --duration-s 90 --compare 1,3
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soak_faults import DEFAULT_FAULTS, parse_faults  # noqa: E402
from soak_measure import STAGES  # noqa: E402
from soak_run import Controls, RunOptions, RunResult, run  # noqa: E402
from soak_world import SERVER_URL  # noqa: E402

logger = logging.getLogger("bench.soak")
TARGET_P95_BEYOND_POLL_S = 5.0


def _processes(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"want process counts such as 1,3, got {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"want process counts of at least 1, got {text!r}")
    return values


def _faults(text: str) -> dict[str, float]:
    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/soak.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000, help="posts released over the run")
    parser.add_argument("--accounts", type=int, default=20, help="accounts, X and Facebook alternately")
    parser.add_argument("--duration-s", type=float, default=None,
                        help="seconds over which the posts are released (default: posts / 50, at least 30)")
    parser.add_argument("--processes", type=int, default=3, help="bot processes (ignored with --compare)")
    parser.add_argument("--compare", type=_processes, default=None, metavar="N,M",
                        help="run with each process count in turn and print them side by side")
    parser.add_argument("--poll-interval-s", type=float, default=2.0)
    parser.add_argument("--faults", type=_faults, default=parse_faults(DEFAULT_FAULTS),
                        help=f"KIND:EVERY_S,... of rate_limit, burst, slow, malformed, corrupt; none: off "
                             f"(default {DEFAULT_FAULTS})")
    parser.add_argument("--kill-at", type=float, default=0.4,
                        help="fraction of the release time (--duration-s, or --max-release-s if shorter) after which "
                             "bot 0 is killed with SIGKILL and restarted (0: never)")
    parser.add_argument("--max-release-s", type=float, default=None,
                        help="stop releasing after this long; the rest of the posts are never released")
    parser.add_argument("--drain-s", type=float, default=600.0, help="longest wait after the last release")
    parser.add_argument("--progress-s", type=float, default=10.0, help="seconds between progress lines")
    parser.add_argument("--postgres", default=SERVER_URL,
                        help=f"the PostgreSQL server each run makes its database in (default {SERVER_URL})")
    parser.add_argument("--keep", action="store_true", help="keep the databases (and log where the logs were)")
    parser.add_argument("--x-replies-per-15-min", type=int, default=None, metavar="N",
                        help="keep X's POST /2/tweets budget per account in the sandbox (X's own: 100); default: none")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.posts < 1 or args.accounts < 1:
        parser.error("--posts and --accounts must be at least 1")
    if not 0 <= args.kill_at < 1:
        parser.error("--kill-at is a fraction: 0 (never) up to below 1")
    return args


def options_for(args: argparse.Namespace, processes: int) -> RunOptions:
    duration_s = args.duration_s if args.duration_s is not None else max(30.0, args.posts / 50)
    return RunOptions(posts=args.posts, accounts=args.accounts, processes=processes, duration_s=duration_s,
                      poll_interval_s=args.poll_interval_s, faults=args.faults, kill_at=args.kill_at,
                      drain_s=args.drain_s, progress_s=args.progress_s, keep=args.keep, seed=args.seed,
                      max_release_s=args.max_release_s, server_url=args.postgres,
                      x_replies_per_15_min=args.x_replies_per_15_min)


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    return "not reached" if math.isinf(value) else f"{value:.1f}"


def table(results: Sequence[RunResult]) -> list[str]:
    """The runs side by side; with two or more, the last over the first as a ratio."""
    heads = [f"{r.options.processes} process{'es' if r.options.processes > 1 else ''}" for r in results]
    rows: list[tuple[str, list[str], str]] = []

    def ratio(values: list[float]) -> str:
        return f"{values[-1] / values[0]:.2f}x" if len(values) > 1 and values[0] else ""

    for stage in STAGES:
        rates = [r.summary.rates.get(stage, 0.0) for r in results]
        rows.append((f"{stage} /s", [f"{v:.1f}" for v in rates], ratio(rates)))
    for stage in STAGES:
        rows.append((f"{stage} p50 / p95 s", [f"{_s(r.summary.p50_s.get(stage))} / {_s(r.summary.p95_s.get(stage))}"
                                             for r in results], ""))
    rows.append(("posts stored / released", [f"{r.summary.counts.get('stored', 0)} / {r.summary.posts}"
                                            for r in results], ""))
    rows.append(("release span / run span s", [f"{r.summary.release_span_s:.0f} / {r.summary.span_s:.0f}"
                                              for r in results], ""))
    rows.append(("peak RSS MB per process", [" ".join(f"{m:.0f}" for m in r.peak_rss_mb) or "n/a"
                                            for r in results], ""))
    rows.append(("bot CPU s per process", [" ".join(f"{c:.0f}" for c in r.bot_cpu_s) or "n/a" for r in results], ""))
    rows.append(("bot CPU ms per post", [f"{1000 * sum(r.bot_cpu_s) / max(1, r.summary.posts):.0f}"
                                        if r.bot_cpu_s else "n/a" for r in results], ""))
    rows.append(("sandbox CPU s", [_s(r.sandbox_cpu_s) for r in results], ""))
    rows.append(("restart after kill -9 s", [" ".join(f"{s:.1f}" for s in r.restart_s) or "-" for r in results], ""))
    rows.append(("faults added", [" ".join(f"{k}={v}" for k, v in sorted(r.faults_added.items())) or "none"
                                 for r in results], ""))
    rows.append(("machine paused s (taken out)", [f"{r.paused_s:.0f}" for r in results], ""))
    rows.append(("wall clock: notified / replied p95 s",
                 [f"{_s(w.p95_s.get('notified'))} / {_s(w.p95_s.get('replied'))}" if (w := r.wall_summary) else "-"
                  for r in results], ""))
    rows.append(("drained", ["yes" if r.drained else "NO" for r in results], ""))
    rows.append(("invariant violations", [str(sum(len(v) for v in r.violations.values())) for r in results], ""))
    rows.append(("left undone at the end", [str(sum(len(v) for v in r.backlog.values())) for r in results], ""))
    width = max(len(label) for label, _, _ in rows)
    cols = [max(len(h), *(len(cells[i]) for _, cells, _ in rows)) for i, h in enumerate(heads)]
    lines = ["  ".join([" " * width, *(h.rjust(c) for h, c in zip(heads, cols, strict=True)), "ratio"])]
    lines += ["  ".join([label.ljust(width), *(v.rjust(c) for v, c in zip(cells, cols, strict=True)), extra])
              for label, cells, extra in rows]
    return lines


def verdict(result: RunResult) -> list[str]:
    """The targets: p95 release-to-notification under poll interval + 5 s; every invariant holding."""
    lines = []
    p95 = result.summary.p95_s.get("notified")
    limit = result.options.poll_interval_s + TARGET_P95_BEYOND_POLL_S
    met = p95 is not None and p95 <= limit  # inf (not reached) is not met
    lines.append(f"{result.options.processes} process(es): notified p95 {_s(p95)} s against {limit:.1f} s "
                 f"(poll {result.options.poll_interval_s:g} s + {TARGET_P95_BEYOND_POLL_S:g} s): "
                 f"{'met' if met else 'NOT met'}")
    for name, problems in result.violations.items():
        left = result.backlog.get(name, [])
        state = "holds" if not problems else f"{len(problems)} violation(s)"
        lines.append(f"  {name}: {state}" + (f" ({len(left)} left undone, e.g. {left[0]})" if left else ""))
        lines += [f"    {p}" for p in problems[:5]]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def say(line: str) -> None:
        print(line, flush=True)  # noqa: T201 (a bench prints)

    counts = args.compare or [args.processes]
    controls = Controls()

    def on_usr1(signum: int, frame: object) -> None:  # the first: release no more; the second: end the drain
        (controls.end_drain if controls.cut_release.is_set() else controls.cut_release).set()

    signal.signal(signal.SIGUSR1, on_usr1)
    results = [run(options_for(args, n), say, controls) for n in counts]
    say("")
    for line in table(results):
        say(line)
    say("")
    for result in results:
        for line in verdict(result):
            say(line)
    return 0 if all(not any(r.violations.values()) and r.drained for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
