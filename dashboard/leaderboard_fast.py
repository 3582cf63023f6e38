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
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlmodel import Session

from dashboard.leaderboard import HOLDING_STATUSES, TO_ACKNOWLEDGE, By, Directory, Level, Row, Rules, overdue_counts
from dashboard.leaderboard_sum import sum_rows
from dashboard.leaderboard_tally import DayTally, Kind, contributions, empty_tally, station_assigned, unpack
from models.leaderboard import load_facts, overdue_groups
from models.tally import day_versions, holding_starts, read_days, read_meta, touches

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


class DayCache:
    """The day tallies a dashboard process has read, unpacked, by (kind, day, version): a page reads the days'
    versions (a few bytes each) and only the days it does not hold at that version. A day tallied again gets a
    new random version, so what is kept is never stale; the least recently used go past ``max_bytes``."""

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self._days: OrderedDict[tuple[str, int, int], tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()  # the page's requests run in a thread pool

    def get(self, kind: str, day: int, version: int | None) -> object | None:
        if version is None:
            return None
        with self._lock:
            found = self._days.get((kind, day, version))
            if found is not None:
                self._days.move_to_end((kind, day, version))
            return None if found is None else found[0]

    def put(self, kind: str, day: int, version: int | None, value: object, size: int) -> None:
        if version is None or size > self.max_bytes:
            return
        with self._lock:
            old = self._days.pop((kind, day, version), None)
            self.size += size - (old[1] if old else 0)
            self._days[(kind, day, version)] = (value, size)
            while self.size > self.max_bytes:
                _, (_, dropped) = self._days.popitem(last=False)
                self.size -= dropped


def _tallies(session: Session, kind: Kind, versions: Mapping[int, int | None], cache: DayCache) -> dict[int, DayTally]:
    """The stored tallies of these days (those still stored), from the cache or read and kept."""
    found: dict[int, DayTally] = {}
    for d, version in versions.items():
        kept = cache.get(kind, d, version)
        if isinstance(kept, DayTally):
            found[d] = kept
    for d, stored in read_days(session, kind, [d for d in versions if d not in found]).items():
        found[d] = tally = unpack(stored.keys, stored.data)
        cache.put(kind, d, stored.version, tally, len(stored.data) + 64 * len(tally.keys))
    return found


def _assigned(session: Session, versions: Mapping[int, int | None], cache: DayCache) -> dict[int, dict[str, int]]:
    """The stations' cases of these days (the map), from the cache or read and kept."""
    found: dict[int, dict[str, int]] = {}
    for d, version in versions.items():
        kept = cache.get("assigned", d, version)
        if isinstance(kept, dict):
            found[d] = kept
    for d, stored in read_days(session, "station", [d for d in versions if d not in found], with_data=False).items():
        found[d] = per_station = dict(zip(json.loads(stored.keys), json.loads(stored.assigned), strict=True))
        cache.put("assigned", d, stored.version, per_station, 64 * len(per_station))
    return found


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
    cache: DayCache | None = None,
) -> tuple[list[Row], dict[str, int]]:
    """The rows of the period [since, until) (local dates) and the map's cases per station; ``cache`` keeps
    the days read for the next page (None: nothing kept)."""
    cache = cache or DayCache(0)
    kind: Kind = by if by != "area" else level
    first, end = since.toordinal(), until.toordinal()
    dirty = touched_days(session, tz)
    usable = read_meta(session) == (zone_name(tz), areas_fingerprint(directory))
    versions = day_versions(session, kind, first, end) if usable else {}
    station_versions = versions if kind == "station" else day_versions(session, "station", first, end) if usable else {}
    wanted = {d: v for d, v in versions.items() if d not in dirty and d in station_versions}
    stored = _tallies(session, kind, wanted, cache)
    stations: dict[int, dict[str, int]] = {}
    if kind != "station":
        stations = _assigned(session, {d: station_versions[d] for d in stored}, cache)
    live = {d for d in range(first, end) if d not in stored or (kind != "station" and d not in stations)}
    kinds: list[Kind] = [kind] if kind == "station" else [kind, "station"]
    computed: dict[tuple[int, Kind], DayTally] = {}
    for a, b in runs(live):
        computed |= tally_range(session, a, b, kinds=kinds, tz=tz, directory=directory, now=now)
    days = [((d - first) // 7, computed[(d, kind)] if d in live else stored[d]) for d in range(first, end)]
    late = overdue_groups(session, now=now, held=HOLDING_STATUSES, to_acknowledge=TO_ACKNOWLEDGE)
    overdue = overdue_counts(late, by=by, directory=directory, level=level)
    weeks = len(range(0, end - first, 7))
    rows = sum_rows(days, weeks=weeks, overdue=overdue, now=now.timestamp(), by=by, level=level, rules=rules, directory=directory)
    logger.debug("leaderboard %s %s..%s: %d days tallied, %d computed", by, since, until - timedelta(days=1), end - first - len(live), len(live))
    if kind == "station":  # the map's counts are the station rows' cases
        return rows, station_assigned([{r.key: int(r.value("assigned") or 0) for r in rows}])
    per_day = [computed[(d, "station")].assigned() if d in live else stations[d] for d in range(first, end)]
    return rows, station_assigned(per_day)
