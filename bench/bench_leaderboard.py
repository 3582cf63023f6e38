"""The leaderboard page with 1,000,000 complaints, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_leaderboard.py                       # SQLite file var/bench-leaderboard.db
    .venv/bin/python bench/bench_leaderboard.py --postgres            # PostgreSQL (TEST_POSTGRES_URL or the local test db)
    .venv/bin/python bench/bench_leaderboard.py --complaints 100000   # a smaller database

The database is filled once with synthetic rows inserted in bulk (kept for the next run; ``--fresh`` refills
it): complaints spread over ``--days`` days before a fixed "now", across the stations and officers of
data/bengaluru (busier stations get more), each with its first post, its holdings (about 3% reassigned,
6% of closed cases reopened), the escalation steps of every deadline passed, the bot's and the officers'
replies and the audit events. About 70% are acknowledged (three in four in time), 9 in 10 of those get an
action report, most are closed; of those never acknowledged most were closed by a supervisor without a
note and a few are still open and overdue. Then it times the signed-in commissioner's ``GET /leaderboard``
(the whole page: session, queries, measures, rendering) for the last 30 and 365 days, by station and by
officer, several runs each, and prints the median, the 90th and the 95th percentile (nearest rank) with the time
spent loading the facts. Before timing, the day tallies are built from scratch (``--rebuild``'s work,
timed: the backfill of an existing database) and the refresher's run after one case of an old day is
touched is timed too (a day tallied again); with ``--retallied``, each page again with the day before now
tallied again before each run (as on a live deployment, whose recent days are tallied again all the time);
then the page with that one day touched and not yet tallied again, and a supervisor's page (their ACP's
stations, computed from the cases).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assembly.city import load_city  # noqa: E402
from assembly.dashboard_app import leaderboard_rules, units_under  # noqa: E402
from assembly.dashboard_data import leaderboard_inputs  # noqa: E402
from assembly.settings import load_settings  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.leaderboard import Directory, Rules  # noqa: E402
from dashboard.leaderboard_fast import local_midnight  # noqa: E402
from dashboard.leaderboard_refresh import TallyRefresher, rebuild  # noqa: E402
from dashboard.users import add_user  # noqa: E402
from models.db import make_engine, migrate, session_scope  # noqa: E402
from models.leaderboard import load_facts  # noqa: E402
from models.secret import Secret  # noqa: E402

NOW = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
CITY = ROOT / "data" / "bengaluru"
PASSWORD = "bench-password-123"
CATEGORIES = ("traffic_violation", "traffic_jam", "parking", "theft", "harassment", "noise", "public_nuisance")
MIN = 60.0
HOUR = 3600.0
DAY = 86400.0
TABLES = ("complaint", "mention", "assignment", "escalation", "reply", "audit_event")


@dataclass(frozen=True)
class Deployment:
    """What ``run.py dashboard`` hands the leaderboard for config.toml's city: names, areas, boundaries, zone."""

    directory: Directory
    tz: ZoneInfo
    rules: Rules
    units_under: Callable[[str], Collection[str]]


@cache
def deployment() -> Deployment:
    settings = load_settings(ROOT / "config.toml", {}, need_platform_secrets=False)
    jurisdictions, organisation, _ = load_city(settings, {})
    return Deployment(leaderboard_inputs(organisation, jurisdictions), settings.tz, leaderboard_rules(settings), units_under(organisation))


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201


# -- the city ---------------------------------------------------------------------------------------------
@dataclass
class City:
    stations: list[str]
    weights: list[float]
    duty: dict[str, list[tuple[str, str]]]  # station → (officer id, rank) on duty there
    acp_head: dict[str, tuple[str, str]]  # station → the head of its ACP office (misconduct goes there)


def read_city() -> City:
    with (CITY / "stations.csv").open(encoding="utf-8") as handle:
        stations = {r["id"]: r for r in csv.DictReader(handle)}
    with (CITY / "supervisors.csv").open(encoding="utf-8") as handle:
        supervisors = {r["unit_id"]: r["supervisor_id"] for r in csv.DictReader(handle)}
    with (CITY / "officers.csv").open(encoding="utf-8") as handle:
        officers = [r for r in csv.DictReader(handle) if r["status"] == "active"]
    duty: dict[str, list[tuple[str, str]]] = defaultdict(list)
    heads: dict[str, tuple[str, str]] = {}
    for o in officers:
        if o["role"] in ("duty", "in_charge"):
            duty[o["unit_id"]].append((o["id"], o["rank"]))
        if o["role"] in ("head", "in_charge"):
            heads.setdefault(o["unit_id"], (o["id"], o["rank"]))
    routing = [s for s, r in stations.items() if r["layer"] in ("law_order", "traffic") and duty.get(s)]
    rng = random.Random(7)
    weights = [1.0 / (1 + i) ** 0.6 for i in range(len(routing))]  # a few busy stations, a long tail
    rng.shuffle(weights)
    acp_head = {}
    for s in routing:
        parent = stations[s]["parent_id"] or supervisors.get(s)
        if parent and parent in heads:
            acp_head[s] = heads[parent]
    return City(sorted(routing), weights, dict(duty), acp_head)


# -- the rows -----------------------------------------------------------------------------------------------
@dataclass
class Rows:
    complaint: list[tuple[Any, ...]] = field(default_factory=list)
    mention: list[tuple[Any, ...]] = field(default_factory=list)
    assignment: list[tuple[Any, ...]] = field(default_factory=list)
    escalation: list[tuple[Any, ...]] = field(default_factory=list)
    reply: list[tuple[Any, ...]] = field(default_factory=list)
    audit_event: list[tuple[Any, ...]] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(getattr(self, t)) for t in TABLES)


COLUMNS = {
    "complaint": (
        "id", "docket", "category", "confidence", "is_emergency", "is_vip", "is_misconduct", "station_id", "status",
        "created_at", "updated_at", "acknowledged_at", "action_taken_at", "action_note", "closed_at", "reopen_count",
    ),
    "mention": (
        "id", "platform", "external_id", "account_id", "author_handle", "text", "created_at", "referenced_authors",
        "raw", "stored_at", "complaint_id", "classified_at", "post_category", "joined_as", "handled_at",
    ),
    "assignment": (
        "id", "complaint_id", "docket", "officer_id", "rank", "unit_id", "station_id", "role", "rule", "status",
        "assigned_at", "acknowledge_by", "act_by", "ended_at", "acknowledged_at", "acted_at",
    ),
    "escalation": (
        "id", "complaint_id", "assignment_id", "docket", "holder_id", "deadline", "step", "escalated_to", "unit_id",
        "due_at", "at",
    ),
    "reply": (
        "id", "idempotency_key", "complaint_id", "mention_id", "account_id", "kind", "platform", "in_reply_to",
        "language", "text", "marker", "is_private", "priority", "status", "attempts", "next_attempt_at", "posted_at",
        "external_id", "created_at",
    ),
    "audit_event": ("id", "at", "kind", "entity", "entity_id", "actor", "detail"),
}
TIME_COLUMNS = {
    t: {i for i, c in enumerate(cols) if c.endswith("_at") or c in ("acknowledge_by", "act_by", "at")}
    for t, cols in COLUMNS.items()
}


class Synthetic:
    """Complaints and everything the bot would have written about them, drawn from a seeded generator."""

    def __init__(self, city: City, *, complaints: int, days: float, seed: int = 1) -> None:
        self.city, self.total, self.rng = city, complaints, random.Random(seed)
        self.start = NOW.timestamp() - days * DAY
        self.span = days * DAY
        self.now = NOW.timestamp()
        self.ids: dict[str, int] = defaultdict(int)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def batches(self, size: int = 50_000) -> Iterator[Rows]:
        rows = Rows()
        times = sorted(self.start + self.rng.random() * self.span for _ in range(self.total))
        for n, created in enumerate(times, start=1):
            self.case(rows, n, created)
            if n % size == 0:
                yield rows
                rows = Rows()
        if rows.complaint:
            yield rows

    def case(self, rows: Rows, n: int, posted: float) -> None:
        rng = self.rng
        cid, docket = self.next_id("complaint"), f"BLR-B-{n:07d}"
        station = rng.choices(self.city.stations, self.city.weights)[0]
        is_emergency, is_vip = rng.random() < 0.05, rng.random() < 0.02
        is_misconduct = rng.random() < 0.03 and station in self.city.acp_head
        filed = posted + rng.uniform(1, 15) * MIN
        mention_id = self.next_id("mention")
        rows.mention.append((
            mention_id, "x", f"9{n:012d}", 1, f"citizen{n % 50_000}", "Synthetic complaint for the bench", posted,
            "[]", "{}", filed, cid, filed, "theft", "first", filed,
        ))
        self.reply(rows, cid, mention_id, "acknowledgement", filed + MIN)
        status, ack_at, act_at, note, closed_at, reopens = "desk", None, None, None, None, 0
        if rng.random() < 0.08 and not is_misconduct:  # the desk's: no officer holds it
            aid = self.next_id("assignment")
            rows.assignment.append((aid, cid, docket, None, None, "blr-sm-desk", station, "desk", "desk", "open",
                                    filed, None, None, None, None, None))
        else:
            ack_w, act_w = (10 * MIN, 2 * HOUR) if is_emergency else (30 * MIN, 6 * HOUR) if is_vip else (2 * HOUR, DAY)
            holder = self.city.acp_head[station] if is_misconduct else rng.choice(self.city.duty[station])
            status, ack_at, act_at, note, closed_at, reopens = self.held(
                rows, cid, docket, station, holder, filed, ack_w, act_w, mention_id
            )
        rows.complaint.append((
            cid, docket, rng.choice(CATEGORIES), 0.9, is_emergency, is_vip, is_misconduct, station, status,
            filed, closed_at or act_at or ack_at or filed, ack_at, act_at, note, closed_at, reopens,
        ))

    def held(
        self, rows: Rows, cid: int, docket: str, station: str, holder: tuple[str, str], t0: float,
        ack_w: float, act_w: float, mention_id: int,
    ) -> tuple[str, float | None, float | None, str | None, float | None, int]:
        rng, now = self.rng, self.now
        ack_by, act_by = t0 + ack_w, t0 + act_w
        first_ack = first_act = closed_at = None
        note, reopens, status = None, 0, "assigned"
        start, officer, rule = t0, holder, "on_duty"
        if rng.random() < 0.03:  # reassigned before anything was done; the deadlines are carried
            moved_at = t0 + rng.uniform(0.5, 20) * HOUR
            if moved_at <= now:
                aid = self.holding(rows, cid, docket, station, officer, rule, start, ack_by, act_by, "moved", moved_at, None, None)
                self.steps(rows, cid, docket, aid, officer[0], start, moved_at, ack_by, None, act_by, None, ack_w, act_w)
                self.audit(rows, moved_at, "case.reassign", cid, "BCP0002")
                others = [o for o in self.city.duty[station] if o != officer] or [officer]
                start, officer, rule = moved_at, rng.choice(others), "reassigned_by:BCP0002"
        for round_no in range(3):
            roll = rng.random()
            ack = act = close = None
            if roll < 0.7:  # acknowledged: three in four in time
                ack = start + ack_w * rng.uniform(0.05, 0.95) if rng.random() < 0.75 else ack_by + rng.uniform(0.1, 10) * HOUR
                ack = max(ack, start + MIN)
                if rng.random() < 0.9:
                    act = ack + (act_w * rng.uniform(0.1, 0.9) if rng.random() < 0.7 else act_w + rng.uniform(1, 72) * HOUR)
                    if rng.random() < 0.85:
                        close = act + rng.uniform(1, 48) * HOUR
                elif rng.random() < 0.97:  # acknowledged, never acted on: a supervisor closed it
                    close = ack + rng.uniform(5, 14) * DAY
            elif start + 7 * DAY < now and rng.random() < 0.97:  # never acknowledged: a supervisor closed it
                close = start + rng.uniform(3, 10) * DAY
            ack = ack if ack is not None and ack <= now else None
            act = act if ack is not None and act is not None and act <= now else None
            close = close if close is not None and close <= now and (ack is None or ack <= close) else None
            end = close
            state = "closed" if close is not None else "open"
            aid = self.holding(rows, cid, docket, station, officer, rule, start, ack_by, act_by, state, end, ack, act)
            self.steps(rows, cid, docket, aid, officer[0], start, end, ack_by, ack, act_by, act, ack_w, act_w)
            if ack is not None:
                first_ack = first_ack or ack
                self.audit(rows, ack, "case.acknowledge", cid, officer[0])
                status = "acknowledged"
            if act is not None:
                first_act = first_act or act
                note = "The patrol team visited and cleared it."
                self.audit(rows, act, "case.act", cid, officer[0])
                self.reply(rows, cid, mention_id, "action_taken", act, round_no)
                status = "action_taken"
            if close is None:
                break
            closed_at, status = close, "closed"
            self.audit(rows, close, "case.close", cid, officer[0] if act is not None else "BCP0002")
            reopen = close + rng.uniform(1, 10) * DAY
            if act is None or rng.random() >= 0.06 or reopen > now:
                break
            reopens += 1
            closed_at, status = None, "reopen_requested"
            self.audit(rows, reopen, "case.reopen", cid, "citizen")
            start, rule = reopen, "reopened"
            ack_by, act_by = reopen + ack_w, reopen + act_w
        return status, first_ack, first_act, note, closed_at, reopens

    def holding(
        self, rows: Rows, cid: int, docket: str, station: str, officer: tuple[str, str], rule: str, start: float,
        ack_by: float | None, act_by: float | None, state: str, end: float | None, ack: float | None, act: float | None,
    ) -> int:
        aid = self.next_id("assignment")
        rows.assignment.append((aid, cid, docket, officer[0], officer[1], station, station, "assignee", rule, state,
                                start, ack_by, act_by, end, ack, act))
        return aid

    def steps(
        self, rows: Rows, cid: int, docket: str, aid: int, holder: str, start: float, end: float | None,
        ack_by: float, ack: float | None, act_by: float, act: float | None, ack_w: float, act_w: float,
    ) -> None:
        """An escalation step for every multiple of a window passed unmet while this holding lasted."""
        stop = min(end if end is not None else self.now, self.now)
        for deadline, due, done, window in (("acknowledge", ack_by, ack, ack_w), ("action", act_by, act, act_w)):
            if due < start:
                continue
            for step in (1, 2, 3):
                at = due + (step - 1) * window
                if at > stop or (done is not None and done <= at):
                    break
                rows.escalation.append((self.next_id("escalation"), cid, aid, docket, holder, deadline, step, None,
                                        None, at, at + 5 * MIN))

    def reply(self, rows: Rows, cid: int, mention_id: int, kind: str, at: float, round_no: int = 0) -> None:
        rid = self.next_id("reply")
        rows.reply.append((rid, f"{kind}:{mention_id}:{round_no}", cid, mention_id, 1, kind, "x", f"9{mention_id:012d}",
                           "en", "Synthetic reply", f"m{rid}", False, 0, "posted", 1, at, at + MIN, f"8{rid:012d}", at))

    def audit(self, rows: Rows, at: float, kind: str, cid: int, actor: str) -> None:
        rows.audit_event.append((self.next_id("audit_event"), at, kind, "complaint", str(cid), actor, "{}"))


# -- writing it ---------------------------------------------------------------------------------------------
def _sqlite_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def write(engine: Engine, rows: Rows) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        is_pg = engine.dialect.name == "postgresql"
        if not is_pg:  # a bench fill: nothing to lose if the machine stops, and the rows are known to be consistent
            for pragma in ("synchronous=OFF", "foreign_keys=OFF", "cache_size=-500000"):
                cursor.execute(f"PRAGMA {pragma}")
        for table in TABLES:
            data = getattr(rows, table)
            times = TIME_COLUMNS[table]
            convert = (lambda ts: datetime.fromtimestamp(ts, UTC)) if is_pg else _sqlite_time
            data = [tuple(convert(v) if i in times and v is not None else v for i, v in enumerate(r)) for r in data]
            columns = COLUMNS[table]
            if is_pg:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", data)
        raw.commit()
    finally:
        raw.close()


def fill(engine: Engine, *, complaints: int, days: float) -> None:
    with session_scope(engine) as session:
        session.execute(sa.text(
            "INSERT INTO account (id, platform, key, external_user_id, label, created_at) "
            "VALUES (1, 'x', 'blrcitypolice', '1', '@blrcitypolice', :at)"
        ), {"at": NOW})
    synthetic = Synthetic(read_city(), complaints=complaints, days=days)
    began, written = time.perf_counter(), 0
    dropped = drop_for_fill(engine)
    for rows in synthetic.batches():
        written += rows.count()
        write(engine, rows)
        say(f"  {synthetic.ids['complaint']:>9,} complaints, {written:>10,} rows, {time.perf_counter() - began:5.0f} s")
    restore_after_fill(engine, dropped)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM tally_touch"))
        if engine.dialect.name == "postgresql":
            for table in ("account", *TABLES):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        else:
            conn.execute(sa.text("ANALYZE"))
    if engine.dialect.name == "postgresql":  # as autovacuum leaves a settled database: statistics and the visibility map
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def drop_for_fill(engine: Engine) -> list[str]:
    """Migration 0011's touch triggers and the plain indexes off for the fill; the SQL that puts them back.

    A bulk load would touch every case (the tallies are built next anyway), and an index built once over
    sorted rows costs a fraction of one kept up to date row by row.
    """
    tables = ", ".join(f"'{t}'" for t in TABLES)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            found = conn.execute(sa.text(
                f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ({tables}) "
                "AND indexdef NOT LIKE 'CREATE UNIQUE%'"
            ))
            indexes = [(r[0], r[1]) for r in found]
            for table in TABLES:
                conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for name, _ in indexes:
                conn.execute(sa.text(f'DROP INDEX "{name}"'))
            return [sql for _, sql in indexes] + [f"ALTER TABLE {table} ENABLE TRIGGER USER" for table in TABLES]
        found = conn.execute(sa.text(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
            f"((type = 'trigger' AND name LIKE 'tally_touch%') OR (type = 'index' AND tbl_name IN ({tables})))"
        ))
        kept = [(r[0], r[1], r[2]) for r in found if not r[2].startswith("CREATE UNIQUE")]
        for kind, name, _ in kept:
            conn.execute(sa.text(f'DROP {kind.upper()} "{name}"'))
        return [sql for _, _, sql in kept]


def restore_after_fill(engine: Engine, statements: list[str]) -> None:
    began = time.perf_counter()
    with engine.begin() as conn:
        for sql in statements:
            conn.exec_driver_sql(sql)
    say(f"  indexes and triggers put back in {time.perf_counter() - began:.0f} s")


def complaint_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM complaint")).scalar_one())


def open_database(url: str, *, fresh: bool, schema: str = "bench_leaderboard") -> Engine:
    if url.startswith("postgresql"):
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if fresh:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        admin.dispose()
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    elif fresh:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(url)
    migrate(engine)
    return engine


# -- timing it -----------------------------------------------------------------------------------------------
def nearest_rank(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


PROPOSED_INDEXES = (  # what migration 0007 would add (see the README): the cohort, first posts, replies, steps
    "CREATE INDEX IF NOT EXISTS ix_assignment_held_from ON assignment (assigned_at, role, officer_id, complaint_id)",
    "CREATE INDEX IF NOT EXISTS ix_mention_complaint_created ON mention (complaint_id, created_at)",
    "CREATE INDEX IF NOT EXISTS ix_reply_complaint_kind ON reply (complaint_id, kind, status, created_at)",
    "CREATE INDEX IF NOT EXISTS ix_escalation_assignment_holder ON escalation (assignment_id, holder_id)",
)


def add_proposed_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        for statement in PROPOSED_INDEXES:
            conn.execute(sa.text(statement))
        conn.execute(sa.text("ANALYZE"))


def tally_all(engine: Engine) -> TallyRefresher:
    """The tallies from scratch, as ``run.py leaderboard --rebuild`` makes them (the page's own directory and zone)."""
    refresher = TallyRefresher(deployment().directory, deployment().tz)
    began = time.perf_counter()
    days = rebuild(engine, refresher, now=NOW, chunk_days=30, say=lambda line: None)
    spent = time.perf_counter() - began
    say(f"{engine.dialect.name:<10} backfill: {days} days tallied in {spent:.0f} s ({1000 * spent / max(days, 1):.0f} ms a day)")
    return refresher


def has_tallies(engine: Engine, refresher: TallyRefresher) -> bool:
    """Tallies made under the bench's timezone and areas, every day done (a rebuild finished)."""
    with session_scope(engine) as session:
        done = refresher.refresh(session, NOW, days=0)
    return done["days_left"] == 0


def touch_old_case(engine: Engine, days_ago: int) -> None:
    """A closed case of an old day changes (its note is edited): its day is touched."""
    at = NOW - timedelta(days=days_ago)
    with engine.begin() as conn:
        found = conn.execute(sa.select(sa.text("complaint_id")).select_from(sa.text("assignment")).where(
            sa.text("assigned_at >= :at AND role = 'assignee'")).order_by(sa.text("assigned_at")).limit(1), {"at": at}).scalar_one()
        conn.execute(sa.text("UPDATE complaint SET action_note = COALESCE(action_note, '') || '.' WHERE id = :id"), {"id": found})


def time_refresh(engine: Engine, refresher: TallyRefresher, *, runs: int) -> None:
    spent = []
    for n in range(runs):
        touch_old_case(engine, 100 + 40 * n)
        began = time.perf_counter()
        counts = refresher.run(engine, NOW)
        spent.append((time.perf_counter() - began) * 1000)
        assert counts["tally_days"] >= 1, counts
    say(f"{engine.dialect.name:<10} refresh of one touched day: median {statistics.median(spent):.0f} ms, max {max(spent):.0f} ms ({runs} runs)")


def signed_in(engine: Engine, username: str, **app: Any) -> TestClient:
    city = deployment()
    app = {"directory": city.directory, "timezone": city.tz, "leaderboard_rules": city.rules, "units_under": city.units_under, **app}
    client = TestClient(create_app(engine, secret_key=Secret("b" * 40), clock=lambda: NOW, **app))
    page = client.get("/login").text
    token = page.split('name="csrftoken" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrftoken": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return client


CPU: list[float] = []  # this process's CPU time of each page timed (the machine is shared: wall time waits)
DB_CPU: list[float] = []  # the PostgreSQL server processes' (the page's connections'), none on SQLite
SIZES: list[int] = []  # the page's bytes
BACKENDS: set[int] = set()  # the server processes of the bench's PostgreSQL connections
FIRST: list[float] = []  # the first page of the URL in this process (its days not yet kept)


def watch_backends(engine: Engine) -> None:
    """Remember each PostgreSQL connection's server process: its CPU time is the database's share of a page."""
    if engine.dialect.name != "postgresql":
        return

    @sa.event.listens_for(engine, "checkout")
    def _remember(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        BACKENDS.add(int(dbapi_conn.info.backend_pid))


def backends_cpu_ms() -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in list(BACKENDS):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            BACKENDS.discard(pid)
            continue
        total += (int(fields[11]) + int(fields[12])) * 1000 / ticks  # utime, stime
    return total


def time_url(client: TestClient, url: str, runs: int) -> list[float]:
    began = time.perf_counter()
    assert client.get(url).status_code == 200  # warm the caches once (the days read, the weeks added up and ranked)
    FIRST[:] = [(time.perf_counter() - began) * 1000]
    pages = []
    CPU.clear()
    DB_CPU.clear()
    SIZES.clear()
    for _ in range(runs):
        began, cpu, db = time.perf_counter(), time.process_time(), backends_cpu_ms()
        answer = client.get(url)
        pages.append((time.perf_counter() - began) * 1000)
        CPU.append((time.process_time() - cpu) * 1000)
        DB_CPU.append(backends_cpu_ms() - db)
        SIZES.append(len(answer.content))
        assert answer.status_code == 200
    return pages


def cpu_note() -> str:
    server = f" + server {statistics.median(DB_CPU):4.0f} ms" if BACKENDS else ""
    return f"  [cpu {statistics.median(CPU):5.0f} ms{server}, {statistics.median(SIZES) / 1024:6.0f} KiB; first page {FIRST[0]:5.0f} ms]"


def time_others(engine: Engine, *, runs: int) -> None:
    """The page with one day touched and not yet tallied again; a supervisor's page (computed from the cases)."""
    client = signed_in(engine, "bench-commissioner")
    until = (NOW + timedelta(days=1)).date()
    for days in (30, 365):
        since = until - timedelta(days=days)
        touch_old_case(engine, days - 3)
        pages = time_url(client, f"/leaderboard?by=station&since={since}&until={until}", runs)
        say(f"{engine.dialect.name:<10} {days:>3} days by station, one day touched: page median {statistics.median(pages):7.0f} ms  p90 {nearest_rank(pages, 0.9):7.0f} ms  p95 {nearest_rank(pages, 0.95):7.0f} ms{cpu_note()}")
    with engine.begin() as conn:
        acp, stations = busiest_acp(conn)
    if not _has_user(engine, "bench-supervisor"):
        add_user(engine, username="bench-supervisor", role="supervisor", password=PASSWORD, now=NOW, unit_id=acp)
    client = signed_in(engine, "bench-supervisor", units_under=lambda unit: stations if unit == acp else set())
    for days in (30, 365):
        since = until - timedelta(days=days)
        pages = time_url(client, f"/leaderboard?by=station&since={since}&until={until}", runs)
        say(f"{engine.dialect.name:<10} {days:>3} days, supervisor of {acp} ({len(stations)} stations): page median {statistics.median(pages):7.0f} ms  p90 {nearest_rank(pages, 0.9):7.0f} ms  p95 {nearest_rank(pages, 0.95):7.0f} ms{cpu_note()}")


def busiest_acp(conn: sa.Connection) -> tuple[str, set[str]]:
    with (CITY / "stations.csv").open(encoding="utf-8") as handle:
        parent = {r["id"]: r["parent_id"] for r in csv.DictReader(handle) if r["parent_id"]}
    counts: dict[str, int] = {r[0]: int(r[1]) for r in conn.execute(sa.text("SELECT station_id, count(*) FROM complaint GROUP BY station_id"))}
    load: dict[str, int] = defaultdict(int)
    for station, n in counts.items():
        if station in parent:
            load[parent[station]] += n
    acp = max(load, key=lambda unit: load[unit])
    return acp, {s for s, p in parent.items() if p == acp}


def time_page(engine: Engine, *, runs: int, label: str, from_cases: bool = True, boards: Sequence[str] = ("station", "officer")) -> list[str]:
    add_user(engine, username="bench-commissioner", role="commissioner", password=PASSWORD, now=NOW) if not _has_user(engine) else None
    client = signed_in(engine, "bench-commissioner")
    lines = []
    until = (NOW + timedelta(days=1)).date()
    for days in (30, 365):
        since = until - timedelta(days=days)
        for by in boards:
            pages, facts = time_url(client, f"/leaderboard?by={by}&since={since}&until={until}", runs), []
            cpu = cpu_note()
            cases = 0
            for _ in range(max(1, runs // 2) if from_cases else 0):
                with session_scope(engine) as session:
                    began = time.perf_counter()
                    loaded = load_facts(
                        session,
                        since=local_midnight(since, deployment().tz),
                        until=local_midnight(until, deployment().tz),
                        now=NOW,
                    )
                    facts.append((time.perf_counter() - began) * 1000)
                    cases = len(loaded.cases)
            instead = f"  (loading the facts from the cases instead: median {statistics.median(facts):6.0f} ms, {cases:,} cases)" if facts else ""
            lines.append(
                f"{engine.dialect.name:<10} {label:<18} {days:>3} days by {by:<7}  page median {statistics.median(pages):7.0f} ms"
                f"  p90 {nearest_rank(pages, 0.9):7.0f} ms  p95 {nearest_rank(pages, 0.95):7.0f} ms{cpu}{instead}"
            )
            say(lines[-1])
    return lines


def time_retallied(engine: Engine, refresher: TallyRefresher, *, runs: int, boards: Sequence[str]) -> None:
    """The page as a live deployment serves it: before each page a case first held the day before now changes
    and the refresher tallies its day again (a new version: its week is added up and ranked again)."""
    client = signed_in(engine, "bench-commissioner")
    until = (NOW + timedelta(days=1)).date()
    for days in (30, 365):
        for by in boards:
            url = f"/leaderboard?by={by}&since={until - timedelta(days=days)}&until={until}"
            assert client.get(url).status_code == 200
            pages, cpu = [], []
            for _ in range(runs):
                touch_old_case(engine, 1)
                refresher.run(engine, NOW)
                began, used = time.perf_counter(), time.process_time()
                assert client.get(url).status_code == 200
                pages.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - used) * 1000)
            say(
                f"{engine.dialect.name:<10} {'a recent day again':<18} {days:>3} days by {by:<7}  page median {statistics.median(pages):7.0f} ms"
                f"  p90 {nearest_rank(pages, 0.9):7.0f} ms  p95 {nearest_rank(pages, 0.95):7.0f} ms  [cpu {statistics.median(cpu):5.0f} ms]"
            )


def _has_user(engine: Engine, username: str = "bench-commissioner") -> bool:
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT count(*) FROM dashboard_user WHERE username = :u"), {"u": username})
        return bool(found.scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'var' / 'bench-leaderboard.db'}")
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL (schema bench_leaderboard)")
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=730.0, help="the complaints are spread over this many days")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop the bench database and fill it again")
    parser.add_argument("--boards", default="station,officer,area", help="the rows timed, separated by commas")
    parser.add_argument("--prepare-only", action="store_true", help="fill the database and tally it (if needed), then stop")
    parser.add_argument("--keep-tallies", action="store_true", help="use the tallies already there (made under the same areas)")
    parser.add_argument("--skip-from-cases", action="store_true", help="do not time loading the facts from the cases (slow at 1,000,000)")
    parser.add_argument("--skip-others", action="store_true", help="do not time the touched-day and the supervisor's pages")
    parser.add_argument("--retallied", action="store_true", help="also time each page after the day before now is tallied again")
    parser.add_argument("--schema", default="bench_leaderboard", help="the PostgreSQL schema of the bench database")
    parser.add_argument("--proposed-indexes", action="store_true", help="then add the indexes of the proposed migration and time again")
    args = parser.parse_args()
    url = args.database_url
    if args.postgres:
        url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    engine = open_database(url, fresh=args.fresh, schema=args.schema)
    have = complaint_count(engine)
    if have != args.complaints:
        if have:
            engine.dispose()
            engine = open_database(url, fresh=True, schema=args.schema)
        say(f"filling {engine.dialect.name} with {args.complaints:,} complaints over {args.days:.0f} days ...")
        began = time.perf_counter()
        fill(engine, complaints=args.complaints, days=args.days)
        say(f"filled in {time.perf_counter() - began:.0f} s")
    say(f"{complaint_count(engine):,} complaints; now = {NOW:%Y-%m-%d %H:%M} UTC; {args.runs} runs each; load average {os.getloadavg()[0]:.1f}")
    refresher = TallyRefresher(deployment().directory, deployment().tz)
    if not (args.keep_tallies and has_tallies(engine, refresher)):
        refresher = tally_all(engine)
    if args.prepare_only:
        return
    watch_backends(engine)
    time_refresh(engine, refresher, runs=args.runs)
    time_page(engine, runs=args.runs, label="from the tallies", from_cases=not args.skip_from_cases, boards=args.boards.split(","))
    if args.retallied:
        time_retallied(engine, refresher, runs=args.runs, boards=args.boards.split(","))
    if not args.skip_others:
        time_others(engine, runs=args.runs)
    if args.proposed_indexes:
        add_proposed_indexes(engine)
        time_page(engine, runs=args.runs, label="+ proposed indexes")
    say(json.dumps({"complaints": args.complaints, "days": args.days, "database": engine.dialect.name, "load": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
