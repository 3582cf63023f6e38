"""Duty rosters: which officer is on duty at a station at a given local time.

``rosters.csv`` has one row per shift: ``station_id, weekdays, start, end, officer_id``. ``weekdays``
names the days a shift *starts* (``daily``, ``mon-fri``, ``sat,sun``); a shift whose end is not after
its start runs past midnight into the next day (``22:00``–``06:00``), and equal times mean 24 hours.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

ROSTER_COLUMNS = ("station_id", "weekdays", "start", "end", "officer_id")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


@dataclass(frozen=True)
class Shift:
    station_id: str
    officer_id: str
    weekdays: frozenset[int]  # 0 = Monday: the days the shift starts
    start: time
    end: time

    @property
    def is_overnight(self) -> bool:
        return self.end <= self.start

    def covers(self, local: datetime) -> bool:
        """Whether the shift is on at ``local`` (a wall-clock time in the roster's zone)."""
        minute = local.hour * 60 + local.minute
        start, end = _minutes(self.start), _minutes(self.end)
        day = local.weekday()
        if not self.is_overnight:
            return day in self.weekdays and start <= minute < end
        return (day in self.weekdays and minute >= start) or ((day - 1) % 7 in self.weekdays and minute < end)

    def week_intervals(self) -> list[tuple[int, int]]:
        """The minutes of the week (Monday 00:00 = 0) the shift covers, as half-open intervals."""
        start, end = _minutes(self.start), _minutes(self.end)
        length = end - start if end > start else end - start + MINUTES_PER_DAY
        intervals = []
        for day in sorted(self.weekdays):
            begin = day * MINUTES_PER_DAY + start
            finish = begin + length
            if finish <= MINUTES_PER_WEEK:
                intervals.append((begin, finish))
            else:  # Sunday night into Monday morning
                intervals.extend([(begin, MINUTES_PER_WEEK), (0, finish - MINUTES_PER_WEEK)])
        return intervals


class Roster:
    """All shifts of a deployment, indexed by station."""

    def __init__(self, shifts: Iterable[Shift]) -> None:
        by_station: dict[str, list[Shift]] = defaultdict(list)
        for shift in shifts:
            by_station[shift.station_id].append(shift)
        self._by_station = dict(by_station)
        self._rostered = frozenset(s.officer_id for group in self._by_station.values() for s in group)

    @property
    def station_ids(self) -> frozenset[str]:
        return frozenset(self._by_station)

    def is_rostered(self, officer_id: str) -> bool:
        """True when the officer has at least one shift anywhere."""
        return officer_id in self._rostered

    def shifts(self, station_id: str) -> Sequence[Shift]:
        return self._by_station.get(station_id, ())

    def on_duty(self, station_id: str, local: datetime) -> list[str]:
        """Officer ids on duty at the station at ``local``, in roster order, without repeats."""
        found: list[str] = []
        for shift in self._by_station.get(station_id, ()):
            if shift.covers(local) and shift.officer_id not in found:
                found.append(shift.officer_id)
        return found

    def gaps(self, station_id: str, *, only: Mapping[str, bool] | None = None) -> list[tuple[int, int]]:
        """Minutes of the week nobody is rostered at the station (``only``: officer id → counts?)."""
        intervals = sorted(
            interval
            for shift in self._by_station.get(station_id, ())
            if only is None or only.get(shift.officer_id, False)
            for interval in shift.week_intervals()
        )
        gaps: list[tuple[int, int]] = []
        reached = 0
        for begin, finish in intervals:
            if begin > reached:
                gaps.append((reached, begin))
            reached = max(reached, finish)
        if reached < MINUTES_PER_WEEK:
            gaps.append((reached, MINUTES_PER_WEEK))
        return gaps


def describe_week_minute(minute: int) -> str:
    day, rest = divmod(minute % MINUTES_PER_WEEK, MINUTES_PER_DAY)
    return f"{DAY_NAMES[day]} {rest // 60:02d}:{rest % 60:02d}"


def parse_weekdays(text: str) -> frozenset[int]:
    """``daily``/``all``, ``mon-fri``, ``sat,sun``, ``fri-mon`` (wraps); ValueError otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned in ("daily", "all", "mon-sun"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in cleaned.split(","):
        if "-" in part:
            first, last = (_day(p) for p in part.split("-", 1))
            day = first
            days.add(day)
            while day != last:
                day = (day + 1) % 7
                days.add(day)
        else:
            days.add(_day(part))
    return frozenset(days)


def parse_clock(text: str) -> time:
    """``HH:MM`` (24-hour; ``24:00`` reads as midnight)."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"time {text!r} is not HH:MM")
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(0, 0)
    return time(h, m)


def read_rosters(path: Path) -> tuple[list[Shift], list[str]]:
    """Shifts from ``rosters.csv`` and every problem found reading it (bad rows are skipped)."""
    shifts: list[Shift] = []
    problems: list[str] = []
    try:
        return _read_rosters(path, shifts, problems)
    except (UnicodeDecodeError, csv.Error) as exc:  # not UTF-8 text, or a field past csv's limit
        return shifts, [*problems, f"cannot read {path}: {exc}"]


def _read_rosters(path: Path, shifts: list[Shift], problems: list[str]) -> tuple[list[Shift], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            return [], [f"{path}: missing column(s) {', '.join(missing)}"]
        for number, row in enumerate(reader, start=2):
            cells = {c: (row.get(c) or "").strip() for c in ROSTER_COLUMNS}
            try:
                shifts.append(
                    Shift(
                        station_id=cells["station_id"],
                        officer_id=cells["officer_id"],
                        weekdays=parse_weekdays(cells["weekdays"]),
                        start=parse_clock(cells["start"]),
                        end=parse_clock(cells["end"]),
                    )
                )
            except ValueError as exc:
                problems.append(f"{path}, row {number}: {exc}")
    return shifts, problems


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _day(name: str) -> int:
    try:
        return DAY_NAMES.index(name[:3])
    except ValueError as exc:
        raise ValueError(f"weekday {name!r} is not one of {', '.join(DAY_NAMES)}") from exc
