"""The deadline policy: durations as people write them, working days in Bengaluru across Sundays and
holidays, per-category deadlines, and every problem of a broken section named at once."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.deadlines import (
    TOML_EXAMPLE,
    DeadlinePolicy,
    DeadlinePolicyError,
    Duration,
    Override,
    Window,
    WorkingCalendar,
    due_at,
)
from routing.rules import CaseFacts, Deadlines, Policy, decide
from tests.builders import make_org

IST = ZoneInfo("Asia/Kolkata")
MON_TO_SAT = WorkingCalendar()


def ist(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A UTC time given as Bengaluru wall-clock time (23 November 2026 is a Monday)."""
    return datetime(year, month, day, hour, minute, tzinfo=IST).astimezone(UTC)


@pytest.mark.parametrize(
    ("raw", "duration"),
    [
        (90, Duration(90)),
        ("90 min", Duration(90)),
        ("90 minutes", Duration(90)),
        ("2 h", Duration(120)),
        ("2 hours", Duration(120)),
        ("  1 Hour ", Duration(60)),
        ("1 working day", Duration(1, "working_days")),
        ("3 working days", Duration(3, "working_days")),
        ("3  working  days", Duration(3, "working_days")),
        ("3 WD", Duration(3, "working_days")),
    ],
)
def test_durations_as_people_write_them(raw: object, duration: Duration) -> None:
    assert Duration.parse(raw) == duration


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("2 days", "say '2 working days' or '48 h'"),  # calendar or working days? never guessed
        ("soon", "is not minutes, hours or working days"),
        ("1.5 h", "is not minutes, hours or working days"),
        (0, "0 min is not between 1 and"),
        (-5, "-5 min is not between 1 and"),
        (True, "expected minutes or a text"),
        ("400 working days", "400 working_days is not between 1 and 366"),
        (None, "expected minutes or a text"),
    ],
)
def test_a_duration_that_cannot_be_read_says_why(raw: object, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace(".", r"\.").replace("(", r"\(")):
        Duration.parse(raw)


WD = Duration(1, "working_days")


@pytest.mark.parametrize(
    ("start", "duration", "multiple", "calendar", "due"),
    [
        (ist(11, 27, 16), WD, 1, MON_TO_SAT, ist(11, 28, 16)),  # Friday → Saturday: police work Saturdays
        (ist(11, 28, 16), WD, 1, MON_TO_SAT, ist(11, 30, 16)),  # Saturday → Monday, Sunday skipped
        (ist(11, 29, 10), WD, 1, MON_TO_SAT, ist(11, 30, 10)),  # filed on a Sunday: Monday, same time
        (ist(11, 28, 2), WD, 1, MON_TO_SAT, ist(11, 30, 2)),  # 02:00 Saturday in Bengaluru is Friday in UTC
        (ist(11, 28, 23, 59), WD, 1, MON_TO_SAT, ist(11, 30, 23, 59)),
        (ist(11, 27, 16), WD, 1, WorkingCalendar(frozenset(range(5))), ist(11, 30, 16)),  # Mon–Fri force
        (ist(11, 28, 16), WD, 1, WorkingCalendar(holidays=frozenset({date(2026, 11, 30)})), ist(12, 1, 16)),
        (
            ist(1, 25, 11, year=2027),
            WD,
            1,
            WorkingCalendar(holidays=frozenset({date(2027, 1, 26)})),
            ist(1, 27, 11, year=2027),
        ),
        (ist(11, 27, 16), Duration(2, "working_days"), 2, MON_TO_SAT, ist(12, 2, 16)),  # Sat, Mon, Tue, Wed
        (ist(11, 27, 16), Duration(2, "working_days"), 0, MON_TO_SAT, ist(11, 27, 16)),
        (ist(11, 28, 23), Duration(120), 1, MON_TO_SAT, ist(11, 29, 1)),  # minutes run through Sunday night
        (ist(11, 28, 23), Duration(120), 3, MON_TO_SAT, ist(11, 29, 5)),
    ],
)
def test_due_at_counts_working_days_in_the_deployments_zone(
    start: datetime, duration: Duration, multiple: int, calendar: WorkingCalendar, due: datetime
) -> None:
    assert due_at(start, duration, multiple, IST, calendar) == due


def test_the_same_working_day_read_in_utc_would_land_on_a_sunday() -> None:
    start = ist(11, 28, 2)  # Saturday 02:00 in Bengaluru, Friday 20:30 UTC
    assert due_at(start, WD, 1, ZoneInfo("UTC"), MON_TO_SAT).astimezone(IST).weekday() == 6
    assert due_at(start, WD, 1, IST, MON_TO_SAT).astimezone(IST).weekday() == 0


def test_the_defaults_are_the_forces_current_deadlines() -> None:
    policy, now = DeadlinePolicy(), ist(11, 23, 12)
    by = {
        (e, v): policy.deadlines_for("theft", e, v, now)
        for e, v in ((False, False), (True, False), (False, True), (True, True))
    }
    minutes = {
        k: ((d.acknowledge_by - now) // timedelta(minutes=1), (d.act_by - now) // timedelta(minutes=1))
        for k, d in by.items()
    }
    assert minutes == {
        (False, False): (120, 1440),
        (True, False): (10, 120),
        (False, True): (30, 360),
        (True, True): (10, 120),
    }
    assert [d.priority for d in by.values()] == ["normal", "emergency", "vip", "emergency"]
    assert Deadlines().policy() == policy  # the [routing.deadlines] minutes make the same policy


def test_a_category_overrides_only_what_it_says() -> None:
    policy = DeadlinePolicy(
        overrides=(
            Override("traffic_congestion", "normal", acknowledge=Duration(15)),
            Override("traffic_congestion", "vip", act=Duration(30)),
            Override("road_infrastructure", "normal", act=Duration(5, "working_days")),
        ),
        tz=IST,
    )
    assert policy.window_for("traffic_congestion", is_emergency=False, is_vip=False) == Window(
        Duration(15), Duration(1440)
    )
    assert policy.window_for("traffic_congestion", is_emergency=False, is_vip=True) == Window(
        Duration(30), Duration(30)
    )
    assert policy.window_for("traffic_congestion", is_emergency=True, is_vip=True) == policy.emergency
    assert policy.window_for("theft", is_emergency=False, is_vip=False) == policy.normal
    pothole = policy.deadlines_for("road_infrastructure", False, False, ist(11, 27, 10))  # a Friday
    assert pothole.act_by == ist(12, 3, 10)  # Sat, Mon, Tue, Wed, Thu


def test_routing_stamps_the_policys_deadlines() -> None:
    policy = Policy(deadlines=DeadlinePolicy(normal=Window(Duration(60), Duration(1, "working_days")), tz=IST))
    saturday = ist(11, 28, 18)
    decision = decide(CaseFacts(1, "theft", "l1"), make_org(), saturday, {}, policy)
    assert decision.outcome == "assigned"
    assert (decision.acknowledge_by, decision.act_by) == (saturday + timedelta(minutes=60), ist(11, 30, 18))


def test_the_sample_section_reads() -> None:
    raw = tomllib.loads(TOML_EXAMPLE)["followup"]["deadlines"]
    policy = DeadlinePolicy.from_mapping(raw, tz=IST)
    assert policy.normal == Window(Duration(120), Duration(1, "working_days"))
    assert policy.calendar == WorkingCalendar(
        frozenset(range(6)), frozenset({date(2026, 1, 26), date(2026, 8, 15), date(2026, 10, 2)})
    )
    assert policy.window_for("traffic_congestion", is_emergency=False, is_vip=True) == Window(
        Duration(30), Duration(30)
    )
    assert policy.tz == IST


def test_an_empty_section_keeps_every_default() -> None:
    assert DeadlinePolicy.from_mapping({}) == DeadlinePolicy()


@pytest.mark.parametrize(
    ("working_days", "weekdays"),
    [
        ("mon-sat", {0, 1, 2, 3, 4, 5}),
        (["mon", "tue", "wed", "thu", "fri"], {0, 1, 2, 3, 4}),
        ("sun-thu", {6, 0, 1, 2, 3}),
        ("mon,wed,fri", {0, 2, 4}),
    ],
)
def test_working_days_as_written(working_days: object, weekdays: set[int]) -> None:
    assert DeadlinePolicy.from_mapping({"working_days": working_days}).calendar.weekdays == weekdays


def test_every_problem_is_named_at_once() -> None:
    raw = {
        "normal": {"acknowledge": "2 days", "akt": "1 h"},
        "vip": "30 min",
        "emergency": {"acknowledge": "3 h", "act": "1 h"},
        "categories": {
            "thef": {"act": "1 h"},
            "theft": {"act": 5, "vip": 3},
            "road_infrastructure": {"act": "soon", "emergency": {"acknowledge": 0}},
        },
        "working_days": ["mon", "fry"],
        "holidays": ["2026-13-01", date(2026, 1, 26)],
        "reminders": 3,
    }
    with pytest.raises(DeadlinePolicyError) as caught:
        DeadlinePolicy.from_mapping(raw, section="followup.deadlines")
    assert caught.value.problems == [
        "followup.deadlines.emergency: the time to act (60 min) is shorter than the time to acknowledge (180 min)",
        'followup.deadlines.vip: expected a table such as {acknowledge = "120 min", act = "1 working day"}',
        "followup.deadlines.normal.acknowledge: '2 days' is not minutes, hours or working days (say '2 working days' or '48 h')",
        "followup.deadlines.normal.akt: unknown key; did you mean act?",
        "followup.deadlines.categories.thef: unknown category; did you mean theft?",
        "followup.deadlines.categories.theft.vip: expected a table",
        "followup.deadlines.categories.theft: the time to act (5 min) is shorter than the time to acknowledge (120 min)",
        "followup.deadlines.categories.road_infrastructure.act: 'soon' is not minutes, hours or working days",
        "followup.deadlines.categories.road_infrastructure.emergency.acknowledge: 0 min is not between 1 and 527040",
        "followup.deadlines.working_days: 'fry' is not a day (mon … sun) or a range (mon-sat)",
        "followup.deadlines.holidays: '2026-13-01' is not a date (YYYY-MM-DD)",
        "followup.deadlines.reminders: unknown key",
    ]
    assert str(caught.value).splitlines() == caught.value.problems  # one problem a line, for the settings report


def test_a_calendar_without_a_working_day_is_refused() -> None:
    with pytest.raises(ValueError, match="working weekdays"):
        WorkingCalendar(frozenset())
