"""The leaderboard's rows from the day tallies, exact at any moment: the commissioner's page, the CSV,
``run.py leaderboard`` and the map.

A day of the period comes from its tally unless it has none yet, or one of its cases was touched since it
was tallied (a row in ``tally_touch`` for a case with a holding that day): such days are computed from the
cases, consecutive ones in one query, and added like tallies. Overdue now comes from the open holdings
past a deadline. The touches are read before the tallies: a refresher that tallies a day again and
deletes its touches in between leaves the day live, never stale. Tallies made under another timezone or
another station → ACP/DCP mapping are not used (every day is then computed from the cases). A dashboard
process keeps (:class:`DayCache`) the days it read, the page's weeks added up and the ranked times of all but
its last ``RECENT_WEEKS``, each by the versions of its days: a changed day is never read from what was kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlmodel import Session

from dashboard.leaderboard import HOLDING_STATUSES, TO_ACKNOWLEDGE, By, Directory, Level, Row, Rules, overdue_counts
from dashboard.leaderboard_sum import Block, KeyIndex, Ranked, merge, rank_times, sum_rows
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
    """The day tallies a dashboard process has read, unpacked, by (kind, day, version), and the weeks of pages
    made from them, by (kind, first day, the days' versions): a page reads the days' versions (a few bytes
    each), only the days it does not hold at that version, and adds up again only the weeks with a day it
    has not added at that version (the week with today, mostly). A day tallied again gets a new random
    version, so what is kept is never stale; the least recently used go past ``max_bytes``."""

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.index = KeyIndex()  # the group ids of the weeks kept
        self._days: OrderedDict[tuple[str, int, Hashable], tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()  # the page's requests run in a thread pool

    def get(self, kind: str, day: int, version: Hashable | None) -> object | None:
        if version is None:
            return None
        with self._lock:
            found = self._days.get((kind, day, version))
            if found is not None:
                self._days.move_to_end((kind, day, version))
            return None if found is None else found[0]

    def put(self, kind: str, day: int, version: Hashable | None, value: object, size: int) -> None:
        if version is None or size > self.max_bytes:
            return
        with self._lock:
            old = self._days.pop((kind, day, version), None)
            self.size += size - (old[1] if old else 0)
            self._days[(kind, day, version)] = (value, size)
            while self.size > self.max_bytes:
                _, (_, dropped) = self._days.popitem(last=False)
                self.size -= dropped


RECENT_WEEKS = 3  # the last weeks of a page ranked on every page: their cases are still being acknowledged, acted on, closed
Versions = tuple[int, ...] | None  # the versions of a week's days; None: a day not stored (never kept)


def _tallies(session: Session, kind: Kind, versions: Mapping[int, int | None], cache: DayCache) -> dict[int, tuple[DayTally, int | None]]:
    """The stored tallies of these days (those still stored) with the version of each, from the cache or read
    and kept."""
    found: dict[int, tuple[DayTally, int | None]] = {}
    for d, version in versions.items():
        kept = cache.get(kind, d, version)
        if isinstance(kept, DayTally):
            found[d] = (kept, version)
    for d, stored in read_days(session, kind, [d for d in versions if d not in found]).items():
        tally = unpack(stored.keys, stored.data)
        found[d] = (tally, stored.version)
        cache.put(kind, d, stored.version, tally, len(stored.data) + 64 * len(tally.keys))
    return found


def _assigned(session: Session, versions: Mapping[int, int | None], cache: DayCache) -> dict[int, tuple[dict[str, int], int | None]]:
    """The stations' cases of these days (the map) with the version of each, from the cache or read and kept."""
    found: dict[int, tuple[dict[str, int], int | None]] = {}
    for d, version in versions.items():
        kept = cache.get("assigned", d, version)
        if isinstance(kept, dict):
            found[d] = (kept, version)
    for d, stored in read_days(session, "station", [d for d in versions if d not in found], with_data=False).items():
        per_station = dict(zip(json.loads(stored.keys), json.loads(stored.assigned), strict=True))
        found[d] = (per_station, stored.version)
        cache.put("assigned", d, stored.version, per_station, 64 * len(per_station))
    return found


def _week_versions(versions: Sequence[int | None]) -> Versions:
    return None if any(v is None for v in versions) else tuple(v for v in versions if v is not None)


def _week(kind: Kind, first: int, days: Sequence[tuple[DayTally, int | None]], cache: DayCache) -> tuple[Block, Versions]:
    """A week of the page (the days from ``first``) as one block, kept by its days' versions."""
    versions = _week_versions([v for _, v in days])
    kept = cache.get(f"{kind}/week/{len(days)}", first, versions)
    if isinstance(kept, Block):
        return kept, versions
    block = merge([t for t, _ in days], cache.index)
    size = sum(v.nbytes + o.nbytes for v, o in zip(block.values, block.owners, strict=True)) + block.counts.nbytes + 64
    cache.put(f"{kind}/week/{len(days)}", first, versions, block, size)
    return block, versions


def _ranked(kind: Kind, first: int, weeks: Sequence[tuple[Block, Versions]], cache: DayCache) -> tuple[Ranked, ...]:
    """The times of these weeks (all of the page's but the most recent) ranked, kept by their days' versions:
    a page of the same period ranks only its recent weeks' values again."""
    versions = None if any(v is None for _, v in weeks) else tuple(v for _, v in weeks)
    kept = cache.get(f"{kind}/ranked/{len(weeks)}", first, versions)
    if isinstance(kept, tuple):
        return kept
    ranked = rank_times([b for b, _ in weeks], len(cache.index.keys))
    cache.put(f"{kind}/ranked/{len(weeks)}", first, versions, ranked, sum(r.values.nbytes + r.starts.nbytes for r in ranked) + 64)
    return ranked


def _week_map(first: int, days: Sequence[tuple[Mapping[str, int], int | None]], cache: DayCache) -> dict[str, int]:
    """A week's cases per station (the map), kept by its days' versions."""
    versions = _week_versions([v for _, v in days])
    kept = cache.get(f"assigned/week/{len(days)}", first, versions)
    if isinstance(kept, dict):
        return kept
    found = station_assigned([d for d, _ in days])
    cache.put(f"assigned/week/{len(days)}", first, versions, found, 64 * len(found))
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
    the days read and the weeks added up for the next page (None: nothing kept)."""
    cache = cache or DayCache(0)
    kind: Kind = by if by != "area" else level
    first, end = since.toordinal(), until.toordinal()
    dirty = touched_days(session, tz)
    usable = read_meta(session) == (zone_name(tz), areas_fingerprint(directory))
    versions = day_versions(session, kind, first, end) if usable else {}
    station_versions = versions if kind == "station" else day_versions(session, "station", first, end) if usable else {}
    wanted = {d: v for d, v in versions.items() if d not in dirty and d in station_versions}
    stored = _tallies(session, kind, wanted, cache)
    stations: dict[int, tuple[dict[str, int], int | None]] = {}
    if kind != "station":
        stations = _assigned(session, {d: station_versions[d] for d in stored}, cache)
    live = {d for d in range(first, end) if d not in stored or (kind != "station" and d not in stations)}
    kinds: list[Kind] = [kind] if kind == "station" else [kind, "station"]
    computed: dict[tuple[int, Kind], DayTally] = {}
    for a, b in runs(live):
        computed |= tally_range(session, a, b, kinds=kinds, tz=tz, directory=directory, now=now)
    starts = range(first, end, 7)
    weeks = [
        _week(kind, a, [(computed[(d, kind)], None) if d in live else stored[d] for d in range(a, min(a + 7, end))], cache)
        for a in starts
    ]
    late = overdue_groups(session, now=now, held=HOLDING_STATUSES, to_acknowledge=TO_ACKNOWLEDGE)
    overdue = overdue_counts(late, by=by, directory=directory, level=level)
    recent = min(len(weeks), RECENT_WEEKS)
    prefix = _ranked(kind, first, weeks[: len(weeks) - recent], cache)
    rows = sum_rows(
        [b for b, _ in weeks], index=cache.index, overdue=overdue, now=now.timestamp(), by=by, level=level, rules=rules, directory=directory,
        prefix=prefix, recent_weeks=recent,
    )
    logger.debug("leaderboard %s %s..%s: %d days tallied, %d computed", by, since, until - timedelta(days=1), end - first - len(live), len(live))
    if kind == "station":  # the map's counts are the station rows' cases
        return rows, station_assigned([{r.key: int(r.value("assigned") or 0) for r in rows}])
    per_week = [
        _week_map(a, [(computed[(d, "station")].assigned(), None) if d in live else stations[d] for d in range(a, min(a + 7, end))], cache)
        for a in starts
    ]
    return rows, station_assigned(per_week)
