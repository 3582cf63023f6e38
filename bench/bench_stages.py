"""Classify + route throughput with 1 and with 3 bot processes on one PostgreSQL, side by side in one run.

    nice -n 10 .venv/bin/python bench/bench_stages.py [--posts 2000] [--history 100000] [--compare 1,3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--sqlite] [--profile DIR]

Each run gets a fresh database (``s1_bench_<n>`` beside the given one): ``--history`` posts already filed
(one case each, a month of them, routed or closed; bulk-inserted so the per-post queries meet a realistic
table) and ``--posts`` new stored mentions made from the project's own corpora (data/corpus: texts, places,
authors who write again in their own thread, other reporters of the same place). Then ``n`` processes
(not threads) build the classify and route stages as ``run.py bot`` does (``assembly.build.make_stages``
from config.toml) and run only those two until every new post is classified and every case routed.
Prints posts/s classified, cases/s routed, CPU seconds of the workers, and the invariants of
``tests/invariants.py`` (classified once, routed once). ``--sqlite`` adds one process on a SQLite file.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing as mp
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.db import make_engine, migrate, session_scope  # noqa: E402
from models.mentions import ensure_account  # noqa: E402
from models.tables import Complaint, Mention  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HISTORY = re.compile(r"\(x h\d+\)|\(OLD-")
HISTORY_STATUSES = ("assigned", "acknowledged", "closed", "closed", "closed", "desk", "referral")


def corpus() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted((ROOT / "data" / "corpus").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def fresh_database(base_url: str, name: str, template: str | None = None) -> str:
    url = make_url(base_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, name: str) -> None:
    admin = sa.create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fill(engine: Engine, *, posts: int, history: int, now: datetime, seed: int = 12) -> None:
    """``history`` filed posts (one case each) and ``posts`` new ones waiting to be classified."""
    rng = random.Random(seed)
    texts = corpus()
    with session_scope(engine) as session:
        x = ensure_account(session, platform="x", key="blrcitypolice", external_user_id="1", label="x @blrcitypolice")
        fb = ensure_account(session, platform="facebook", key="1089", external_user_id="1089", label="facebook 1089")
    mention_table, complaint_table = Mention.__table__, Complaint.__table__  # type: ignore[attr-defined]
    chunk = 2000
    with engine.begin() as connection:
        for start in range(0, history, chunk):
            cases, mentions = [], []
            for i in range(start, min(history, start + chunk)):
                row = rng.choice(texts)
                at = now - timedelta(days=30) + timedelta(seconds=rng.uniform(0, 29 * 86400))
                cases.append(
                    {"category": row["category"], "confidence": 0.9, "is_emergency": False, "is_vip": False,
                     "is_misconduct": row["category"] == "officer_misconduct", "place_name": row.get("place"),
                     "status": rng.choice(HISTORY_STATUSES), "created_at": at, "updated_at": at,
                     "docket": f"OLD-{i:07d}", "reopen_count": 0}
                )
                mentions.append((i, row, at))
            ids = connection.execute(complaint_table.insert().returning(complaint_table.c.id), cases).scalars().all()
            connection.execute(
                mention_table.insert(),
                [
                    {"platform": "x", "external_id": f"h{i}", "account_id": x, "author_id": f"old{rng.randrange(history // 2 + 1)}",
                     "text": row["text"], "created_at": at, "conversation_id": f"h{i}", "referenced_authors": [], "raw": {},
                     "stored_at": at, "complaint_id": case_id, "classified_at": at, "post_category": row["category"],
                     "joined_as": "first"}
                    for (i, row, at), case_id in zip(mentions, ids, strict=True)
                ],
            )
        new: list[dict[str, Any]] = []
        for i in range(posts):
            row = rng.choice(texts)
            at = now - timedelta(hours=2) + timedelta(seconds=i * 7200 / max(1, posts))
            platform, account = ("x", x) if i % 3 else ("facebook", fb)
            author = f"a{rng.randrange(max(1, posts // 3))}"
            earlier = [m for m in new[-50:] if m["author_id"] == author and m["platform"] == platform]
            reply_to = earlier[-1]["external_id"] if earlier and rng.random() < 0.7 else None
            new.append(
                {"platform": platform, "external_id": f"n{i}", "account_id": account, "author_id": author,
                 "author_handle": author, "text": row["text"], "created_at": at, "in_reply_to_id": reply_to,
                 "conversation_id": earlier[-1]["conversation_id"] if reply_to and earlier else f"n{i}",
                 "referenced_authors": [], "raw": {}, "stored_at": at}
            )
        for start in range(0, len(new), chunk):
            connection.execute(mention_table.insert(), new[start : start + chunk])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))


def worker(url: str, ready: Any, go: Any, stop: Any, results: Any, profile_dir: str | None = None) -> None:
    """One bot process running only classify and route, as ``run.py bot`` builds them; with ``profile_dir``,
    its cProfile statistics go to ``profile_dir/stages-<pid>.prof``."""
    from assembly.build import load_classifier, make_stages
    from assembly.city import load_city
    from assembly.settings import load_settings

    environ = {**os.environ, "DATABASE_URL": url}
    settings = load_settings(ROOT / "config.toml", environ, need_platform_secrets=False)
    jurisdictions, organisation, cameras = load_city(settings, environ)
    classifier = load_classifier(settings, jurisdictions)
    stages, _notify = make_stages(settings, classifier, organisation, cameras, jurisdictions)
    engine = make_engine(url)
    ready.release()
    go.wait()
    profiler = cProfile.Profile() if profile_dir else None
    if profiler is not None:
        profiler.enable()
    cpu = time.process_time()
    counts: dict[str, int] = {}
    while not stop.is_set():
        worked = 0
        for stage in stages:
            for key, value in stage.run(engine, datetime.now(UTC)).items():
                counts[key] = counts.get(key, 0) + value
                worked += value
        if not worked:
            time.sleep(0.05)
    cpu_s = time.process_time() - cpu
    if profiler is not None and profile_dir:
        profiler.disable()
        profiler.dump_stats(str(Path(profile_dir) / f"stages-{os.getpid()}.prof"))
    results.put({"pid": os.getpid(), "cpu_s": cpu_s, **counts})
    engine.dispose()


def progress(engine: Engine) -> tuple[int, int, int]:
    """(new posts classified, cases, cases still new)."""
    with engine.connect() as connection:
        classified = connection.execute(
            sa.text("SELECT count(*) FROM mention WHERE external_id LIKE 'n%' AND classified_at IS NOT NULL")
        ).scalar_one()
        cases = connection.execute(sa.text("SELECT count(*) FROM complaint WHERE docket IS NULL OR docket NOT LIKE 'OLD-%'")).scalar_one()
        waiting = connection.execute(sa.text("SELECT count(*) FROM complaint WHERE status = 'new'")).scalar_one()
    return int(classified), int(cases), int(waiting)


def run(url: str, processes: int, posts: int, timeout_s: float, profile_dir: str | None = None) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ready, go, stop, results = ctx.Semaphore(0), ctx.Event(), ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=worker, args=(url, ready, go, stop, results, profile_dir)) for _ in range(processes)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    engine = make_engine(url)
    started = time.perf_counter()
    go.set()
    classified_s = routed_s = None
    while time.perf_counter() - started < timeout_s:
        classified, cases, waiting = progress(engine)
        elapsed = time.perf_counter() - started
        if classified_s is None and classified >= posts:
            classified_s = elapsed
        if classified_s is not None and waiting == 0:
            routed_s = elapsed
            break
        time.sleep(0.1)
    stop.set()
    done = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(60)
    classified, cases, waiting = progress(engine)
    from tests.invariants import classified_once, routed_once

    # the history was bulk-inserted without its audit trail: only the new posts and their cases are checked
    problems = [p for p in classified_once(engine) + routed_once(engine) if not HISTORY.search(p)]
    engine.dispose()
    return {
        "processes": processes, "classified": classified, "cases": cases, "waiting": waiting,
        "classified_s": classified_s, "routed_s": routed_s, "cpu_s": sum(d["cpu_s"] for d in done),
        "per_process": [d.get("classified", 0) for d in done], "problems": problems,
    }


def line(label: str, r: dict[str, Any], posts: int) -> str:
    c, rt = r["classified_s"], r["routed_s"]
    cps = f"{posts / c:7.1f}" if c else "    n/a"
    rps = f"{r['cases'] / rt:7.1f}" if rt else "    n/a"
    return (
        f"{label:<22} classified {cps} posts/s ({c or float('nan'):6.1f} s)  routed {rps} cases/s "
        f"({rt or float('nan'):6.1f} s)  cases {r['cases']:6d}  worker CPU {r['cpu_s']:6.1f} s  "
        f"per process {r['per_process']}  invariants {'ok' if not r['problems'] else len(r['problems'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--compare", default="1,3")
    parser.add_argument("--database-url", default=PG_URL)
    parser.add_argument("--sqlite", action="store_true", help="also one process on a SQLite file")
    parser.add_argument("--timeout-s", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--profile", metavar="DIR", help="write each worker's cProfile statistics to DIR")
    args = parser.parse_args()
    now = datetime.now(UTC)
    rows: list[tuple[str, dict[str, Any]]] = []
    runs: list[tuple[str, str | None, int]] = [
        (f"postgresql, {n} process{'es' if n > 1 else ''}", f"s1_bench_{n}", n) for n in map(int, args.compare.split(","))
    ]
    if args.sqlite:
        runs.append(("sqlite, 1 process", None, 1))
    template = "s1_bench_template"  # filled once; each PostgreSQL run starts from a copy of it
    t = time.perf_counter()
    engine = make_engine(fresh_database(args.database_url, template))
    migrate(engine)
    fill(engine, posts=args.posts, history=args.history, now=now)
    engine.dispose()
    print(f"postgresql: filled in {time.perf_counter() - t:.1f} s", file=sys.stderr)  # noqa: T201
    with tempfile.TemporaryDirectory() as folder:
        for label, name, n in runs:
            t = time.perf_counter()
            if name:
                url = fresh_database(args.database_url, name, template)
            else:
                url = f"sqlite:///{folder}/bench.db"
                engine = make_engine(url)
                migrate(engine)
                fill(engine, posts=args.posts, history=args.history, now=now)
                engine.dispose()
            print(f"{label}: filled in {time.perf_counter() - t:.1f} s", file=sys.stderr)  # noqa: T201
            profile_dir = None
            if args.profile:
                profile_dir = str(Path(args.profile) / (name or "sqlite"))
                Path(profile_dir).mkdir(parents=True, exist_ok=True)
            result = run(url, n, args.posts, args.timeout_s, profile_dir)
            rows.append((label, result))
            print(line(label, result, args.posts), flush=True)  # noqa: T201
            for problem in result["problems"][:10]:
                print("   ", problem)  # noqa: T201
            if name and not args.keep:
                drop_database(args.database_url, name)
    if not args.keep:
        drop_database(args.database_url, template)
    print(f"posts {args.posts}, history {args.history}, load average {os.getloadavg()[0]:.1f}")  # noqa: T201


if __name__ == "__main__":
    main()
