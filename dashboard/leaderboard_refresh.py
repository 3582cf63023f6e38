"""The refresher of the leaderboard's day tallies: a bot stage (``tally``) and ``run.py leaderboard --rebuild``.

Each run, in one transaction: the days of the cases touched since their last tally are tallied again and
those touches deleted; then up to ``days_per_run`` days never tallied, newest first, back to the first
holding (a new deployment's backfill goes on a few days a cycle, the page computing the rest meanwhile).
Tallied from the cases as they are, so running twice is harmless; on PostgreSQL a run first takes a
transaction-level advisory lock and skips when another process holds it. A timezone or station → ACP/DCP
mapping other than the tallies' drops them all and starts again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dashboard.leaderboard import Directory
from dashboard.leaderboard_fast import areas_fingerprint, local_day, runs, tally_range, zone_name
from dashboard.leaderboard_tally import KINDS, pack
from models.db import session_scope
from models.tally import (
    delete_touches,
    first_holding_start,
    holding_starts,
    read_meta,
    reset,
    tallied_days,
    touches,
    write_days,
)

logger = logging.getLogger(__name__)
LOCK_KEY = 7336153  # the advisory lock of the refresher (7336152 is the migrations')
MAX_TOUCHES = 20_000  # touches handled per run; more wait for the next


class TallyRefresher:
    """The ``tally`` stage: keeps the leaderboard's day tallies up to date."""

    name = "tally"

    def __init__(self, directory: Directory, tz: tzinfo, *, days_per_run: int = 14) -> None:
        self.directory, self.tz, self.days_per_run = directory, tz, days_per_run

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        """The days tallied (0 when there was nothing to do or another process was at it)."""
        with session_scope(engine) as session:
            if not _locked(session):
                return {"tally_days": 0}
            done = self.refresh(session, now)
        return {"tally_days": done["days_again"] + done["days_new"]}

    def refresh(self, session: Session, now: datetime, *, days: int | None = None) -> dict[str, int]:
        budget = self.days_per_run if days is None else days
        wanted = (zone_name(self.tz), areas_fingerprint(self.directory))
        if read_meta(session) != wanted:
            logger.info("tally: tallies made under another timezone or area mapping (or none): starting again")
            reset(session, timezone=wanted[0], areas=wanted[1], now=now)
        done = tallied_days(session)
        seen = touches(session, limit=MAX_TOUCHES)
        starts = holding_starts(session, {cid for _, cid, _ in seen}) + [at for _, _, at in seen if at is not None]
        again = {local_day(ts, self.tz) for ts in starts} & done
        today = local_day(now.timestamp(), self.tz)
        first = first_holding_start(session)
        missing = [] if first is None else [d for d in range(today, local_day(first, self.tz) - 1, -1) if d not in done]
        new = missing[: max(0, budget - len(again))]
        self.tally(session, again | set(new), now)
        delete_touches(session, [tid for tid, _, _ in seen])
        left = len(missing) - len(new)
        if again or new:
            logger.info("tally: %d touched days again, %d new days, %d days left, %d touches", len(again), len(new), left, len(seen))
        return {"days_again": len(again), "days_new": len(new), "days_left": left}

    def tally(self, session: Session, days: set[int], now: datetime) -> None:
        for first, end in runs(days):
            found = tally_range(session, first, end, kinds=KINDS, tz=self.tz, directory=self.directory, now=now)
            write_days(session, ((kind, day, pack(t)) for (day, kind), t in found.items()), now=now)


def _locked(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # one bot per SQLite file; the file's write lock orders the rest
    # one lock per schema: two deployments (or tests) in one database do not wait for each other
    claim = sa.text("SELECT pg_try_advisory_xact_lock(:key, hashtext(current_schema()))")
    return bool(session.execute(claim, {"key": LOCK_KEY}).scalar_one())


def rebuild(engine: Engine, refresher: TallyRefresher, *, now: datetime, chunk_days: int = 30, say: Callable[[str], None] = print) -> int:
    """Tally every day from scratch, ``chunk_days`` per transaction, saying how far it got; the days."""
    with session_scope(engine) as session:
        reset(session, timezone=zone_name(refresher.tz), areas=areas_fingerprint(refresher.directory), now=now)
    total = 0
    while True:
        with session_scope(engine) as session:
            if not _locked(session):
                say("leaderboard: another process is tallying; try again later")
                return total
            counts = refresher.refresh(session, now, days=chunk_days)
        total += counts["days_new"]
        say(f"leaderboard: {total} days tallied, {counts['days_left']} to go")
        if counts["days_left"] == 0:
            return total
