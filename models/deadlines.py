"""How long a case may wait: the time to acknowledge it and the time to act on it. Pure.

Each priority (``emergency``, ``vip``, ``normal``; an emergency VIP case is an emergency) has a window, a
time to acknowledge and a time to act; a category may override any of them for any priority. A
:class:`Duration` is minutes (wall-clock time: a night counts) or working days in the deployment's time
zone: ``N working days`` ends at the same local time N working days later, skipping days off (Sunday and
the holidays, by default, as Indian police work Monday to Saturday). Routing stamps the deadlines on an
assignment with :meth:`DeadlinePolicy.deadlines_for`; the tracker escalates at each multiple of them with
:func:`due_at`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from models.taxonomy import Category

Priority = Literal["emergency", "vip", "normal"]
Unit = Literal["min", "working_days"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY_TO_SATURDAY = frozenset(range(6))
MAX_MINUTES = 366 * 24 * 60
MAX_WORKING_DAYS = 366

TOML_EXAMPLE = """\
[followup.deadlines]             # a duration: minutes (120), "90 min", "2 h" or "3 working days"
working_days = "mon-sat"         # or ["mon", "tue", ...]; working days count in the deployment's time zone
holidays = [2026-01-26, 2026-08-15, 2026-10-02]
emergency = {acknowledge = "10 min", act = "2 h"}
vip = {acknowledge = "30 min", act = "6 h"}
normal = {acknowledge = "120 min", act = "1 working day"}

[followup.deadlines.categories.traffic_congestion]   # a category's own deadlines, for normal cases
acknowledge = "15 min"
act = "1 h"
vip = {act = "30 min"}                               # ... and per priority (emergency, vip)

[followup.deadlines.categories.road_infrastructure]
act = "5 working days"
"""
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z ]+?)\s*$")
_UNITS: dict[str, tuple[Unit, int]] = {  # spelling → (unit, factor)
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), ("min", 1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("min", 60)),
    **dict.fromkeys(("working day", "working days", "wd"), ("working_days", 1)),
}
_WINDOW_KEYS = ("acknowledge", "act")
_TOP_KEYS = (*PRIORITIES, "working_days", "holidays", "categories")


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Unit = "min"

    def __post_init__(self) -> None:
        limit = MAX_MINUTES if self.unit == "min" else MAX_WORKING_DAYS
        if not 0 < self.amount <= limit:
            raise ValueError(f"{self.amount} {self.unit} is not between 1 and {limit}")

    def __str__(self) -> str:
        if self.unit == "min":
            return f"{self.amount} min"
        return f"{self.amount} working day{'s' if self.amount != 1 else ''}"

    @classmethod
    def parse(cls, raw: object) -> Duration:
        """``90`` (minutes), ``"90 min"``, ``"2 h"``, ``"3 working days"``; ValueError saying why not."""
        if isinstance(raw, int) and not isinstance(raw, bool):
            return cls(raw)
        if not isinstance(raw, str):
            raise ValueError(f"expected minutes or a text such as '2 h' or '3 working days', got {raw!r}")
        found = _DURATION.match(raw.lower())
        spelled = found and _UNITS.get(re.sub(r"\s+", " ", found.group(2)))
        if not found or not spelled:
            hint = " (say '2 working days' or '48 h')" if found and found.group(2).startswith("day") else ""
            raise ValueError(f"{raw!r} is not minutes, hours or working days{hint}")
        unit, factor = spelled
        return cls(int(found.group(1)) * factor, unit)


@dataclass(frozen=True)
class WorkingCalendar:
    weekdays: frozenset[int] = MONDAY_TO_SATURDAY  # 0 = Monday
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"working weekdays must be some of 0-6 (Monday = 0), got {sorted(self.weekdays)}")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself when ``count`` is 0)."""
        while count > 0:
            day += timedelta(days=1)
            count -= self.is_working_day(day)
        return day


def due_at(start: datetime, duration: Duration, multiple: int, tz: ZoneInfo, calendar: WorkingCalendar) -> datetime:
    """The end (aware UTC) of ``multiple`` back-to-back ``duration``\\ s from ``start``: 1 is the deadline,
    2 twice its length from ``start``, ... Working days keep the local time of ``start``."""
    if multiple < 0:
        raise ValueError(f"multiple must be 0 or more, got {multiple}")
    if duration.unit == "min":
        return (start + timedelta(minutes=duration.amount * multiple)).astimezone(UTC)
    local = start.astimezone(tz)
    day = calendar.add_working_days(local.date(), duration.amount * multiple)
    return datetime.combine(day, local.time(), tzinfo=tz).replace(fold=local.fold).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    acknowledge: Duration
    act: Duration


@dataclass(frozen=True)
class Override:
    """A category's own deadlines for one priority; a None keeps the priority's."""

    category: str
    priority: Priority
    acknowledge: Duration | None = None
    act: Duration | None = None


@dataclass(frozen=True)
class CaseDeadlines:
    priority: Priority
    window: Window
    acknowledge_by: datetime
    act_by: datetime


def priority_of(*, is_emergency: bool, is_vip: bool) -> Priority:
    return "emergency" if is_emergency else "vip" if is_vip else "normal"


@dataclass(frozen=True)
class DeadlinePolicy:
    normal: Window = Window(Duration(120), Duration(24 * 60))
    emergency: Window = Window(Duration(10), Duration(120))
    vip: Window = Window(Duration(30), Duration(6 * 60))
    overrides: tuple[Override, ...] = ()
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    calendar: WorkingCalendar = WorkingCalendar()

    def window_for(self, category: str, *, is_emergency: bool, is_vip: bool) -> Window:
        priority = priority_of(is_emergency=is_emergency, is_vip=is_vip)
        window: Window = getattr(self, priority)
        for o in self.overrides:
            if o.category == category and o.priority == priority:
                return Window(o.acknowledge or window.acknowledge, o.act or window.act)
        return window

    def due_at(self, start: datetime, duration: Duration, multiple: int = 1) -> datetime:
        return due_at(start, duration, multiple, self.tz, self.calendar)

    def deadlines_for(self, category: str, is_emergency: bool, is_vip: bool, start: datetime) -> CaseDeadlines:
        window = self.window_for(category, is_emergency=is_emergency, is_vip=is_vip)
        return CaseDeadlines(
            priority_of(is_emergency=is_emergency, is_vip=is_vip),
            window,
            self.due_at(start, window.acknowledge),
            self.due_at(start, window.act),
        )

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, object], *, tz: ZoneInfo | None = None, section: str = ""
    ) -> DeadlinePolicy:
        """The policy a config section describes (see :data:`TOML_EXAMPLE`); a :class:`DeadlinePolicyError`
        listing every problem, one a line, each named by its key (under ``section``, when given)."""
        problems: list[str] = []
        default = cls()
        windows = {p: _window(raw.get(p), getattr(default, p), _at(section, p), problems) for p in PRIORITIES}
        overrides: list[Override] = []
        categories = raw.get("categories", {})
        if not isinstance(categories, Mapping):
            problems.append(f"{_at(section, 'categories')}: expected a table of categories")
            categories = {}
        known = [c.value for c in Category]
        for name, table in categories.items():
            where = _at(section, f"categories.{name}")
            if name not in known:
                problems.append(f"{where}: unknown category{_nearest(name, known)}")
            elif not isinstance(table, Mapping):
                problems.append(f"{where}: expected a table")
            else:
                overrides += _overrides(name, table, windows, where, problems)
        calendar = _calendar(raw.get("working_days"), raw.get("holidays", []), section, problems)
        for key in raw:
            if key not in _TOP_KEYS:
                problems.append(f"{_at(section, key)}: unknown key{_nearest(key, _TOP_KEYS)}")
        if problems:
            raise DeadlinePolicyError(problems)
        return cls(
            windows["normal"],
            windows["emergency"],
            windows["vip"],
            tuple(overrides),
            tz or ZoneInfo("UTC"),
            calendar or WorkingCalendar(),
        )


class DeadlinePolicyError(ValueError):
    """The deadline settings are unusable; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _durations(
    raw: Mapping[str, object], where: str, problems: list[str], *, extra: Iterable[str] = ()
) -> dict[str, Duration]:
    found: dict[str, Duration] = {}
    for key, value in raw.items():
        if key in _WINDOW_KEYS:
            try:
                found[key] = Duration.parse(value)
            except ValueError as exc:
                problems.append(f"{where}.{key}: {exc}")
        elif key not in extra:
            problems.append(f"{where}.{key}: unknown key{_nearest(key, [*_WINDOW_KEYS, *extra])}")
    return found


def _window(raw: object, default: Window, where: str, problems: list[str]) -> Window:
    if raw is None:
        return default
    if not isinstance(raw, Mapping):
        problems.append(f'{where}: expected a table such as {{acknowledge = "120 min", act = "1 working day"}}')
        return default
    found = _durations(raw, where, problems)
    window = Window(found.get("acknowledge", default.acknowledge), found.get("act", default.act))
    _check_order(window, where, problems)
    return window


def _overrides(
    category: str, table: Mapping[str, object], windows: Mapping[Priority, Window], where: str, problems: list[str]
) -> list[Override]:
    """A category's table: ``acknowledge``/``act`` for normal cases, and ``vip``/``emergency`` sub-tables."""
    tables: dict[Priority, Mapping[str, object]] = {"normal": table}
    for priority in ("emergency", "vip"):
        sub = table.get(priority)
        if isinstance(sub, Mapping):
            tables[priority] = sub
        elif sub is not None:
            problems.append(f"{where}.{priority}: expected a table")
    found: list[Override] = []
    for priority, raw in tables.items():
        at = where if priority == "normal" else f"{where}.{priority}"
        durations = _durations(raw, at, problems, extra=("emergency", "vip") if priority == "normal" else ())
        if durations:
            override = Override(category, priority, durations.get("acknowledge"), durations.get("act"))
            base = windows[priority]
            _check_order(Window(override.acknowledge or base.acknowledge, override.act or base.act), at, problems)
            found.append(override)
    return found


def _check_order(window: Window, where: str, problems: list[str]) -> None:
    ack, act = window.acknowledge, window.act
    if ack.unit == act.unit and act.amount < ack.amount:
        problems.append(f"{where}: the time to act ({act}) is shorter than the time to acknowledge ({ack})")


def _calendar(weekdays: object, holidays: object, section: str, problems: list[str]) -> WorkingCalendar | None:
    days: set[int] = set(MONDAY_TO_SATURDAY)
    if weekdays is not None:
        names = weekdays.split(",") if isinstance(weekdays, str) else weekdays
        if not isinstance(names, list) or not names:
            problems.append(f'{_at(section, "working_days")}: expected day names such as "mon-sat" or ["mon", "tue"]')
            names = []
        days = set()
        for name in names:
            parsed = _day_range(name)
            if parsed is None:
                problems.append(
                    f"{_at(section, 'working_days')}: {name!r} is not a day (mon … sun) or a range (mon-sat)"
                )
            days |= parsed or set()
    dates: set[date] = set()
    if not isinstance(holidays, list):
        problems.append(f"{_at(section, 'holidays')}: expected a list of dates such as [2026-01-26, 2026-08-15]")
        holidays = []
    for value in holidays:
        if isinstance(value, date) and not isinstance(value, datetime):
            dates.add(value)
            continue
        try:
            dates.add(date.fromisoformat(str(value)))
        except ValueError:
            problems.append(f"{_at(section, 'holidays')}: {value!r} is not a date (YYYY-MM-DD)")
    if weekdays is not None and not days and not problems:
        problems.append(f"{_at(section, 'working_days')}: no working day left")
    return WorkingCalendar(frozenset(days), frozenset(dates)) if days else None


def _day_range(name: object) -> set[int] | None:
    if not isinstance(name, str):
        return None
    first, _, last = name.strip().lower().partition("-")
    if first not in DAY_NAMES or (last and last not in DAY_NAMES):
        return None
    start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
    return {d % 7 for d in range(start, end + 1 if end >= start else end + 8)}


def _at(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


def _nearest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""
