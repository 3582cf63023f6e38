"""Duty rosters: shifts by weekday, night shifts across midnight, gaps in cover."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

import pytest

from routing.rosters import Roster, Shift, describe_week_minute, parse_clock, parse_weekdays, read_rosters

MON = datetime(2026, 11, 23)  # a Monday


def shift(days: str, start: str, end: str, officer: str = "A", station: str = "S") -> Shift:
    return Shift(station, officer, parse_weekdays(days), parse_clock(start), parse_clock(end))


@pytest.mark.parametrize(
    ("days", "start", "end", "day_offset", "at", "expected"),
    [
        ("daily", "06:00", "14:00", 0, "06:00", True),
        ("daily", "06:00", "14:00", 0, "14:00", False),  # the end is not part of the shift
        ("daily", "06:00", "14:00", 0, "05:59", False),
        ("mon-fri", "09:00", "17:00", 5, "10:00", False),  # Saturday
        ("sat,sun", "09:00", "17:00", 6, "10:00", True),
        ("fri-mon", "09:00", "17:00", 0, "10:00", True),  # a range that wraps past Sunday
        ("mon", "22:00", "06:00", 0, "23:30", True),  # Monday night
        ("mon", "22:00", "06:00", 1, "05:59", True),  # ... runs into Tuesday morning
        ("mon", "22:00", "06:00", 1, "06:00", False),
        ("mon", "22:00", "06:00", 0, "05:00", False),  # Monday early morning belongs to Sunday's night
        ("sun", "22:00", "06:00", 0, "03:00", True),  # Sunday night into Monday: wraps the week
        ("tue", "08:00", "08:00", 2, "07:59", True),  # equal times: 24 hours
        ("tue", "08:00", "08:00", 2, "08:00", False),
    ],
)
def test_shift_covers_local_time(days: str, start: str, end: str, day_offset: int, at: str, expected: bool) -> None:
    clock = parse_clock(at)
    local = MON.replace(day=MON.day + day_offset, hour=clock.hour, minute=clock.minute)
    assert shift(days, start, end).covers(local) is expected


def test_on_duty_lists_every_officer_of_overlapping_shifts_once() -> None:
    roster = Roster(
        [
            shift("daily", "06:00", "14:00", "A"),
            shift("daily", "06:00", "14:00", "B"),
            shift("daily", "13:00", "22:00", "C"),
            shift("daily", "06:00", "14:00", "A"),
            shift("daily", "06:00", "14:00", "X", station="other"),
        ]
    )
    assert roster.on_duty("S", MON.replace(hour=13, minute=30)) == ["A", "B", "C"]
    assert roster.on_duty("S", MON.replace(hour=23)) == []
    assert roster.on_duty("nowhere", MON) == []


def test_three_daily_shifts_leave_no_gap() -> None:
    roster = Roster(
        [shift("daily", "06:00", "14:00"), shift("daily", "14:00", "22:00"), shift("daily", "22:00", "06:00")]
    )
    assert roster.gaps("S") == []


def test_gaps_name_the_uncovered_minutes_of_the_week() -> None:
    roster = Roster([shift("mon-sat", "00:00", "00:00")])  # 24 hours from Monday to Saturday, Sunday open
    assert [(describe_week_minute(a), describe_week_minute(b)) for a, b in roster.gaps("S")] == [
        ("sun 00:00", "mon 00:00")
    ]


def test_an_empty_roster_is_one_week_long_gap() -> None:
    assert Roster([]).gaps("S") == [(0, 7 * 24 * 60)]


def test_gaps_can_ignore_officers_who_no_longer_count() -> None:
    roster = Roster([shift("daily", "00:00", "00:00", "gone")])
    assert roster.gaps("S") == []
    assert roster.gaps("S", only={"gone": False}) == [(0, 7 * 24 * 60)]


@pytest.mark.parametrize("text", ["funday", "mon-xyz", ""])
def test_bad_weekdays_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_weekdays(text)


@pytest.mark.parametrize(("text", "expected"), [("06:00", time(6)), ("24:00", time(0)), ("9:05", time(9, 5))])
def test_clock_times(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["6", "25:00", "06:7", "noon"])
def test_bad_clock_times_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_clock(text)


def test_reading_a_roster_file_reports_bad_rows_and_keeps_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "rosters.csv"
    path.write_text(
        "station_id,weekdays,start,end,officer_id\n"
        "S,daily,22:00,06:00,A\n"
        "S,someday,06:00,14:00,B\n"
        "S,daily,6am,14:00,C\n",
        encoding="utf-8",
    )
    shifts, problems = read_rosters(path)
    assert [s.officer_id for s in shifts] == ["A"]
    assert shifts[0].is_overnight
    assert len(problems) == 2 and "row 3" in problems[0] and "row 4" in problems[1]
