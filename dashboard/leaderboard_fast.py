"""The leaderboard's rows from the day tallies, exact at any moment: the commissioner's page, the CSV,
``run.py leaderboard`` and the map.

A day of the period comes from its tally unless it has none yet, or one of its cases was touched since it
was tallied (a row in ``tally_touch`` for a case with a holding that day): such days are computed from the
cases, consecutive ones in one query, and added like tallies. Overdue now comes from the open holdings
past a deadline. The touches are read before the tallies: a refresher that tallies a day again and
deletes its touches in between leaves the day live, never stale. Tallies made under another timezone or
another station → ACP/DCP mapping are not used (every day is then computed from the cases).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlmodel import Session

from dashboard.leaderboard import HOLDING_STATUSES, TO_ACKNOWLEDGE, By, Directory, Level, Row, Rules, overdue_counts
from dashboard.leaderboard_sum import sum_rows
from dashboard.leaderboard_tally import DayTally, Kind, contributions, empty_tally, station_assigned, unpack
from models.leaderboard import load_facts, overdue_groups
from models.tally import holding_starts, read_days, read_meta, touches

logger = logging.getLogger(__name__)


def zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz.tzname(datetime(2026, 1, 1, tzinfo=UTC)) or tz)


def areas_fingerprint(directory: Directory) -> str:
    """What the ACP and DCP tallies depend on: which station is under which office."""
    pairs = sorted((s, a.acp.id if a.acp else "", a.dcp.id if a.dcp else "") for s, a in directory.areas.items())
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:32]


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)


def local_day(ts: float, tz: tzinfo) -> int:
    return datetime.fromtimestamp(ts, tz).date().toordinal()


def runs(days: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive days as [first, end) ranges."""
    found: list[tuple[int, int]] = []
    for d in sorted(days):
        if found and found[-1][1] == d:
            found[-1] = (found[-1][0], d + 1)
        else:
            found.append((d, d + 1))
    return found


def tally_range(
    session: Session, first: int, end: int, *, kinds: Sequence[Kind], tz: tzinfo, directory: Directory, now: datetime
) -> dict[tuple[int, Kind], DayTally]:
    """The days [first, end) computed from their cases (one query), every (day, kind) present."""
    starts = [local_midnight(date.fromordinal(d), tz) for d in range(first, end + 1)]
    facts = load_facts(session, since=starts[0], until=starts[-1], now=now, with_overdue=False)
    found = contributions(facts, kinds=kinds, day_starts=[s.timestamp() for s in starts], directory=directory)
    return {(first + i, k): found.get((i, k)) or empty_tally() for i in range(end - first) for k in kinds}


def touched_days(session: Session, tz: tzinfo) -> set[int]:
    """The local days of the cases touched since they were last tallied."""
    rows = touches(session)
    starts = holding_starts(session, {cid for _, cid, _ in rows}) + [at for _, _, at in rows if at is not None]
    return {local_day(ts, tz) for ts in starts}


def fast_rows(
    session: Session,
    *,
    by: By,
    level: Level,
    since: date,
    until: date,
    now: datetime,
    tz: tzinfo,
    rules: Rules,
    directory: Directory,
) -> tuple[list[Row], dict[str, int]]:
    """The rows of the period [since, until) (local dates) and the map's cases per station."""
    kind: Kind = by if by != "area" else level
    first, end = since.toordinal(), until.toordinal()
    dirty = touched_days(session, tz)
    usable = read_meta(session) == (zone_name(tz), areas_fingerprint(directory))
    stored = read_days(session, kind, first, end) if usable else {}
    stations = stored if kind == "station" else read_days(session, "station", first, end, with_data=False) if usable else {}
    live = {d for d in range(first, end) if d in dirty or d not in stored or d not in stations}
    kinds: list[Kind] = [kind] if kind == "station" else [kind, "station"]
    computed: dict[tuple[int, Kind], DayTally] = {}
    for a, b in runs(live):
        computed |= tally_range(session, a, b, kinds=kinds, tz=tz, directory=directory, now=now)
    days = [
        ((d - first) // 7, computed[(d, kind)] if d in live else unpack(stored[d].keys, stored[d].data))
        for d in range(first, end)
    ]
    late = overdue_groups(session, now=now, held=HOLDING_STATUSES, to_acknowledge=TO_ACKNOWLEDGE)
    overdue = overdue_counts(late, by=by, directory=directory, level=level)
    weeks = len(range(0, end - first, 7))
    rows = sum_rows(days, weeks=weeks, overdue=overdue, now=now.timestamp(), by=by, level=level, rules=rules, directory=directory)
    logger.debug("leaderboard %s %s..%s: %d days tallied, %d computed", by, since, until - timedelta(days=1), end - first - len(live), len(live))
    if kind == "station":  # the map's counts are the station rows' cases
        return rows, station_assigned([{r.key: int(r.value("assigned") or 0) for r in rows}])
    per_day = [
        computed[(d, "station")].assigned() if d in live else dict(zip(json.loads(stations[d].keys), json.loads(stations[d].assigned), strict=True))
        for d in range(first, end)
    ]
    return rows, station_assigned(per_day)
