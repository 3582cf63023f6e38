"""Ingestion throughput: posts read from the sandbox and stored per second, SQLite and PostgreSQL side by side.

Baseline in the same run: the same fetch through the real client libraries without storing, so the
ratio shows what storage costs. Prints a table; run with `.venv/bin/python bench/bench_ingest.py`.
Options: --x N --facebook N (scenario size), --rounds R (best of R), --no-postgres.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.db import make_engine, migrate  # noqa: E402
from monitor.loop import make_platform, register_accounts  # noqa: E402
from monitor.poller import poll_account  # noqa: E402
from sandbox import FacebookPage, SandboxServer, XAccount, load_scenario  # noqa: E402
from tests.builders import make_facebook_page, make_polling, make_x_account, write_scenario  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def run_store(url: str, server: SandboxServer) -> tuple[int, float]:
    engine = make_engine(url)
    migrate(engine)
    accounts = register_accounts(
        engine,
        [
            make_platform(account, make_polling())
            for account in (
                make_x_account(api_base_url=server.url),
                make_facebook_page(api_base_url=server.url, lookback_days=3650),
            )
        ],
    )
    started = time.perf_counter()
    stored = 0
    for account in accounts:
        stored += poll_account(
            engine, account.platform, account.account_id, now=datetime.now(UTC), settings=make_polling()
        ).stored
    elapsed = time.perf_counter() - started
    engine.dispose()
    return stored, elapsed


def run_fetch_only(server: SandboxServer) -> tuple[int, float]:
    from monitor.facebook import FacebookPlatform
    from monitor.platform import Platform
    from monitor.twitter import TwitterPlatform

    platforms: list[Platform] = [
        TwitterPlatform(make_x_account(api_base_url=server.url)),
        FacebookPlatform(make_facebook_page(api_base_url=server.url, lookback_days=3650)),
    ]
    started = time.perf_counter()
    n = sum(len(page.mentions) for p in platforms for page in p.fetch(None))
    return n, time.perf_counter() - started


def pg_schema_url() -> str | None:
    try:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        return f"{PG_URL}?options=-csearch_path%3D{schema}"
    except Exception as exc:  # no server: report and go on with SQLite
        print(f"PostgreSQL not reachable ({type(exc).__name__}); skipping it")  # noqa: T201
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--x", type=int, default=800)  # the X mentions timeline keeps 800
    parser.add_argument("--facebook", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    posts = load_scenario(write_scenario(tmp / "bench.jsonl", args.x, args.facebook))
    server = SandboxServer(
        posts,
        x_accounts=[XAccount(user_id="1021737162349010945", username="blrcitytraffic")],
        facebook_pages=[FacebookPage(page_id="104735829586723", name="Bengaluru City Police")],
    ).start()
    rows: list[tuple[str, int, float]] = []
    try:
        for name in ["fetch only (baseline)", "SQLite", "PostgreSQL"]:
            best: tuple[int, float] | None = None
            for r in range(args.rounds):
                if name.startswith("fetch"):
                    result = run_fetch_only(server)
                elif name == "SQLite":
                    result = run_store(f"sqlite:///{tmp / f'bench{r}.db'}", server)
                else:
                    url = None if args.no_postgres else pg_schema_url()
                    if url is None:
                        break
                    result = run_store(url, server)
                if best is None or result[1] < best[1]:
                    best = result
            if best is not None:
                rows.append((name, *best))
    finally:
        server.stop()
    base = rows[0][1] / rows[0][2]
    print(f"ingestion of {args.x} X mentions + {args.facebook} Facebook comments, best of {args.rounds}")  # noqa: T201
    print(f"{'path':<24}{'posts':>8}{'seconds':>10}{'posts/s':>10}{'vs fetch':>10}")  # noqa: T201
    for name, n, secs in rows:
        print(f"{name:<24}{n:>8}{secs:>10.2f}{n / secs:>10.0f}{(n / secs) / base:>10.2f}")  # noqa: T201
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (sandbox + bot + drivers): {peak_mb:.0f} MB")  # noqa: T201


if __name__ == "__main__":
    main()
