"""Purge benchmark: ``models.purge`` on a database of N finished cases past retention, each with one post,
two replies and one officer message; the dry run and the run side by side in one process.

    .venv/bin/python bench/bench_purge.py [--cases 20000] [--database-url URL] [--batch-size 500]

Prints the rows changed per table, the time of each pass and cases per second. Without --database-url a
SQLite file in a temporary folder; a PostgreSQL URL gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from models.db import make_engine, migrate  # noqa: E402
from models.followup import Reply  # noqa: E402
from models.purge import purge  # noqa: E402
from models.retention import Retention, cutoffs  # noqa: E402
from models.routing import OutboxMessage  # noqa: E402
from models.tables import Account, Complaint, Mention  # noqa: E402

NOW = datetime(2027, 12, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=400)


def fill(engine: Engine, cases: int) -> None:
    chunk = 5000
    with engine.begin() as conn:
        conn.execute(sa.insert(Account.__table__), [{"platform": "x", "key": "bench", "external_user_id": "1",  # type: ignore[attr-defined]
                                                     "label": "@bench", "created_at": OLD}])
        account = conn.execute(sa.text("SELECT id FROM account")).scalar_one()
    for start in range(0, cases, chunk):
        ids = range(start + 1, min(cases, start + chunk) + 1)
        with engine.begin() as conn:
            conn.execute(sa.insert(Complaint.__table__), [  # type: ignore[attr-defined]
                {"id": i, "docket": f"B-{i:08d}", "category": "theft", "confidence": 0.9, "status": "closed",
                 "created_at": OLD, "updated_at": OLD, "closed_at": OLD, "action_note": "Visited the caller."} for i in ids])
            conn.execute(sa.insert(Mention.__table__), [  # type: ignore[attr-defined]
                {"id": i, "platform": "x", "external_id": str(10**12 + i), "account_id": account, "author_id": str(i),
                 "author_handle": f"citizen{i}", "author_name": f"Citizen {i}", "text": f"@bench my phone was stolen #{i}",
                 "created_at": OLD, "stored_at": OLD, "complaint_id": i, "referenced_authors": [],
                 "raw": {"id": str(i), "text": "..."}} for i in ids])
            conn.execute(sa.insert(Reply.__table__), [  # type: ignore[attr-defined]
                {"idempotency_key": f"{kind}:{i}", "complaint_id": i, "mention_id": i, "account_id": account, "kind": kind,
                 "platform": "x", "in_reply_to": str(10**12 + i), "language": "en", "text": f"@citizen{i} noted",
                 "marker": f"m{i}{kind}", "status": "posted", "next_attempt_at": OLD, "created_at": OLD}
                for i in ids for kind in ("acknowledgement", "action_taken")])
            conn.execute(sa.insert(OutboxMessage.__table__), [  # type: ignore[attr-defined]
                {"idempotency_key": f"assign:{i}", "purpose": "assign", "complaint_id": i, "officer_id": "O1",
                 "subject": f"B-{i:08d}", "body": f"citizen{i} wrote ...", "status": "sent", "next_attempt_at": OLD,
                 "created_at": OLD} for i in ids])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--batch-size", type=int, default=Retention.batch_size)
    args = parser.parse_args()
    schema = None
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        if url.startswith("postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{url}?options=-csearch_path%3D{schema}"
        engine = make_engine(url)
        try:
            migrate(engine)
            fill(engine, args.cases)
            cut = cutoffs(Retention(), NOW, reopen_window_days=14)
            for dry_run in (True, False, False):
                began = time.perf_counter()
                done = purge(engine, cut, now=NOW, batch_size=args.batch_size, dry_run=dry_run)
                took_s = time.perf_counter() - began
                label = "dry run" if dry_run else "run"
                counts = {step: c.by_table for step, c in done.items() if c.by_table}
                print(f"{engine.dialect.name} {label}: {took_s:.2f} s, {args.cases / took_s:,.0f} cases/s, {counts}")  # noqa: T201
        finally:
            engine.dispose()
            if schema is not None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
