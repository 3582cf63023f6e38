"""A week of deadlines on the clock: the planner asked every two minutes, from Monday 23 November 2026 to the
next Monday noon (Bengaluru time), over the small force of ``tests.builders.make_org``.

The force: traffic station TS (day shift 08–20, night shift 20–08) under TACP, TDCP and the commissioner CP;
law-and-order station L1 (L1-A and L1-B 06–22, L1-NIGHT 22–06) and L2 (its head on duty round the clock)
under ACP1, DCP and CP; L3, where nobody is rostered (its head takes the cases and is reachable at any
hour), under ACP2, who has been transferred, so ACP2's steps go on to the DCP. Potholes have one working day
to be acted on (Monday to Saturday). Officers acknowledge, act and hand cases over on a script; what the
planner asks for is written down at the tick it asked, and the whole week is compared with the table below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.deadlines import DeadlinePolicy, Duration, Override
from monitor.followup.deadlines import Cadence, Done, HeldCase, is_reachable, plan
from routing.people import Organisation
from tests.builders import make_org

IST = ZoneInfo("Asia/Kolkata")
TICK = timedelta(minutes=2)
DAYS = {"Mon": 23, "Tue": 24, "Wed": 25, "Thu": 26, "Fri": 27, "Sat": 28, "Sun": 29, "Mon'": 30}
POLICY = DeadlinePolicy(tz=IST, overrides=(Override("road_infrastructure", "normal", act=Duration(1, "working_days")),))
CADENCE = Cadence(digest_every_days=3)  # periods from Monday 5 January: 22, 25 and 28 November, 09:00


def at(when: str) -> datetime:
    """``"Tue 07:00"`` in Bengaluru, as aware UTC."""
    day, clock = when.split()
    hour, minute = map(int, clock.split(":"))
    return datetime(2026, 11, DAYS[day], hour, minute, tzinfo=IST).astimezone(UTC)


def force() -> Organisation:
    org = make_org()
    officers = [replace(o, status="transferred") if o.id == "ACP2" else o for o in org.officers.values()]
    shifts = [s for station in sorted(org.roster.station_ids - {"l3"}) for s in org.roster.shifts(station)]
    return make_org(officers=officers, shifts=shifts)


ORG = force()


def case(
    n: int, category: str, officer: str, assigned: str, *, is_emergency: bool = False, is_vip: bool = False
) -> HeldCase:
    start = at(assigned)
    due = POLICY.deadlines_for(category, is_emergency, is_vip, start)
    unit = ORG.officers[officer].unit_id
    return HeldCase(
        assignment_id=n,
        complaint_id=n,
        docket=f"BLR-2026-00000{n}",
        status="assigned",
        category=category,
        officer_id=officer,
        unit_id=unit,
        station_id=unit,
        assigned_at=start,
        acknowledge_by=due.acknowledge_by,
        act_by=due.act_by,
        place="Silk Board",
        is_emergency=is_emergency,
        is_vip=is_vip,
    )


CASES = [
    case(1, "theft", "L1-A", "Mon 10:00"),  # acknowledged and acted on in time
    case(2, "traffic_violation", "TS-DAY", "Mon 12:00"),  # never acknowledged, never acted on
    case(3, "theft", "L1-NIGHT", "Tue 05:00"),  # a night-shift officer given a case as the shift ends
    case(4, "violence", "TS-NIGHT", "Tue 21:00", is_emergency=True),
    case(6, "theft", "L1-B", "Wed 10:00"),  # reassigned after its first breach
    case(7, "traffic_congestion", "TS-DAY", "Thu 19:00", is_vip=True),
    case(5, "theft", "L3-HEAD", "Sat 23:00"),  # the station nobody is rostered at, its ACP gone
    case(8, "road_infrastructure", "TS-DAY", "Sat 09:00"),  # one working day: Sunday does not count
]


@dataclass(frozen=True)
class Event:
    when: str
    docket: int
    apply: Callable[[HeldCase, datetime], HeldCase]


def acknowledge(c: HeldCase, now: datetime) -> HeldCase:
    return replace(c, acknowledged_at=now, status="acknowledged")


def act(c: HeldCase, now: datetime) -> HeldCase:
    return replace(c, acknowledged_at=c.acknowledged_at or now, acted_at=now, status="action_taken")


def reassign_to(officer: str) -> Callable[[HeldCase, datetime], HeldCase]:
    def apply(c: HeldCase, now: datetime) -> HeldCase:  # the citizen's clock goes on: deadlines carried over
        unit = ORG.officers[officer].unit_id
        return replace(c, assignment_id=c.assignment_id * 100, officer_id=officer, unit_id=unit, assigned_at=now)

    return apply


SCRIPT = [
    Event("Mon 10:30", 1, acknowledge),
    Event("Tue 08:00", 1, act),
    Event("Tue 11:30", 3, acknowledge),
    Event("Tue 21:35", 4, acknowledge),
    Event("Tue 22:50", 4, act),
    Event("Wed 04:00", 3, act),
    Event("Wed 13:00", 6, reassign_to("L2-HEAD")),
    Event("Wed 15:00", 6, acknowledge),
    Event("Thu 09:00", 6, act),
    Event("Thu 19:25", 7, acknowledge),
    Event("Fri 10:00", 7, act),
    Event("Sat 09:30", 8, acknowledge),
]

# (when, what, case, deadline, step, to): every message the week calls for, and nothing else
EXPECTED = [
    ("Mon 13:30", "reminder", 2, "acknowledge", 0, "TS-DAY"),
    ("Mon 14:00", "step", 2, "acknowledge", 1, "TACP"),
    ("Mon 16:00", "step", 2, "acknowledge", 2, "TDCP"),
    ("Mon 18:00", "step", 2, "acknowledge", 3, "CP"),  # the top of the chain: no step after it
    ("Tue 06:00", "reminder", 1, "action", 0, "L1-A"),  # due at 04:00, L1-A's shift starts at 06:00
    ("Tue 07:00", "step", 3, "acknowledge", 1, "ACP1"),  # no reminder: 06:30 is past L1-NIGHT's shift
    ("Tue 08:00", "reminder", 2, "action", 0, "TS-DAY"),  # due at 06:00, TS-DAY's shift starts at 08:00
    ("Tue 09:00", "step", 3, "acknowledge", 2, "DCP"),
    ("Tue 11:00", "step", 3, "acknowledge", 3, "CP"),
    ("Tue 12:00", "step", 2, "action", 1, "TACP"),
    ("Tue 21:08", "reminder", 4, "acknowledge", 0, "TS-NIGHT"),  # the emergency's 7½ minutes, on the next tick
    ("Tue 21:10", "step", 4, "acknowledge", 1, "TACP"),
    ("Tue 21:20", "step", 4, "acknowledge", 2, "TDCP"),
    ("Tue 21:30", "step", 4, "acknowledge", 3, "CP"),
    ("Tue 22:30", "reminder", 4, "action", 0, "TS-NIGHT"),
    ("Tue 23:00", "reminder", 3, "action", 0, "L1-NIGHT"),  # on the night shift now
    ("Wed 09:00", "digest", 0, "", 0, "CP"),  # overdue: case 2 only
    ("Wed 11:30", "reminder", 6, "acknowledge", 0, "L1-B"),
    ("Wed 12:00", "step", 6, "acknowledge", 1, "ACP1"),  # L1-B's breach
    ("Wed 12:00", "step", 2, "action", 2, "TDCP"),
    ("Wed 14:00", "step", 600, "acknowledge", 2, "DCP"),  # L2-HEAD's: they held it when step 2 fell due
    ("Thu 04:46", "reminder", 600, "action", 0, "L2-HEAD"),  # 75% of L2-HEAD's 21 hours
    ("Thu 12:00", "step", 2, "action", 3, "CP"),
    ("Thu 19:24", "reminder", 7, "acknowledge", 0, "TS-DAY"),  # no action reminder: due 23:30, off until 08:00
    ("Fri 01:00", "step", 7, "action", 1, "TACP"),
    ("Fri 07:00", "step", 7, "action", 2, "TDCP"),
    ("Sat 09:00", "digest", 0, "", 0, "CP"),  # overdue: case 2 only
    ("Sun 00:30", "reminder", 5, "acknowledge", 0, "L3-HEAD"),  # not rostered: reachable at any hour
    ("Sun 01:00", "step", 5, "acknowledge", 1, "DCP"),  # ACP2 is gone: the next unit up
    ("Sun 03:00", "step", 5, "acknowledge", 2, "DCP"),
    ("Sun 05:00", "step", 5, "acknowledge", 3, "CP"),
    ("Sun 17:00", "reminder", 5, "action", 0, "L3-HEAD"),
    ("Sun 23:00", "step", 5, "action", 1, "DCP"),
    ("Mon' 08:00", "reminder", 8, "action", 0, "TS-DAY"),  # due Sunday 21:00: TS-DAY's next shift
    ("Mon' 09:00", "step", 8, "action", 1, "TACP"),  # one working day from Saturday 09:00
]
DIGESTS = {"Wed 09:00": ["BLR-2026-000002"], "Sat 09:00": ["BLR-2026-000002"]}


@dataclass
class Week:
    log: list[tuple[str, str, int, str, int, str]]
    holders: dict[tuple[int, str, int], str | None]  # (assignment, deadline, step) → the holder then
    digests: dict[str, list[str]]


def run_week() -> Week:
    held = {c.complaint_id: c for c in CASES}
    done = Done(digests=frozenset({date(2026, 11, 22)}))
    week = Week([], {}, {})
    events = sorted(SCRIPT, key=lambda e: at(e.when))
    now, end = at("Mon 00:00"), at("Mon' 12:00")
    while now <= end:
        while events and at(events[0].when) <= now:  # an officer's action between two ticks counts at its time
            e = events.pop(0)
            held[e.docket] = e.apply(held[e.docket], at(e.when))
        open_cases = [c for c in held.values() if c.assigned_at <= now]
        planned = plan(open_cases, done, ORG, POLICY, CADENCE, now)
        label = now.astimezone(IST).strftime("%a %H:%M").replace("Mon", "Mon'" if now >= at("Mon' 00:00") else "Mon")
        for r in planned.reminders:
            assert is_reachable(ORG, r.officer_id, now), f"{label}: a reminder to {r.officer_id} off duty"
            week.log.append((label, "reminder", r.case.assignment_id, r.deadline, 0, r.officer_id))
        for s in planned.steps:
            week.log += [(label, "step", s.case.assignment_id, s.deadline, s.step, to) for to in s.to]
            week.holders[(s.case.assignment_id, s.deadline, s.step)] = s.holder_id
        for d in planned.digests:
            week.log.append((label, "digest", 0, "", 0, d.officer_id))
            week.digests[label] = [o.case.docket for o in d.cases]
        done = Done(
            done.reminders | {(r.case.assignment_id, r.deadline) for r in planned.reminders},
            done.steps | {(s.case.assignment_id, s.deadline, s.step) for s in planned.steps},
            done.digests | {d.period_start for d in planned.digests},
        )
        again = plan(open_cases, done, ORG, POLICY, CADENCE, now)
        assert (again.reminders, again.steps, again.digests) == ((), (), ()), f"{label}: planned twice"
        now += TICK
    return week


WEEK = run_week()


def test_every_reminder_and_step_of_the_week_comes_at_its_moment_to_its_person() -> None:
    def order(row: tuple[str, str, int, str, int, str]) -> tuple[datetime, str, int, str, int, str]:
        return (at(row[0]), *row[1:])

    assert sorted(WEEK.log, key=order) == sorted(EXPECTED, key=order)


def test_nothing_is_sent_twice() -> None:
    keys = [(what, n, deadline, step, to) for _, what, n, deadline, step, to in WEEK.log if what != "digest"]
    assert len(keys) == len(set(keys))


MET_IN_TIME = [
    (1, "acknowledge"),
    (1, "action"),
    (3, "action"),
    (4, "action"),
    (600, "action"),
    (7, "acknowledge"),
    (8, "acknowledge"),
]


@pytest.mark.parametrize(("n", "deadline"), MET_IN_TIME)
def test_a_deadline_met_in_time_never_escalates(n: int, deadline: str) -> None:
    assert [row for row in WEEK.log if row[1:4] == ("step", n, deadline)] == []


def test_a_reassigned_cases_breach_belongs_to_whoever_held_it_then() -> None:
    assert WEEK.holders[(6, "acknowledge", 1)] == "L1-B"
    assert WEEK.holders[(600, "acknowledge", 2)] == "L2-HEAD"
    assert (600, "acknowledge", 1) not in WEEK.holders  # fell due before L2-HEAD had the case


def test_the_commissioner_gets_every_overdue_case_each_period() -> None:
    assert WEEK.digests == DIGESTS


def test_with_nobody_above_the_desk_is_told() -> None:
    org = make_org(officers=[o for o in make_org().officers.values() if o.unit_id not in ("a1", "d", "cp")])
    c = replace(CASES[0], acknowledged_at=None, status="assigned")
    planned = plan([c], Done(), org, POLICY, CADENCE, c.assigned_at + timedelta(minutes=120))
    [step] = planned.steps
    assert (step.step, step.unit_id, step.to, step.is_to_desk, step.escalated_to) == (1, "desk", ("DESK1",), True, None)
    assert planned.digests == ()  # nobody heads the top of the chain: no digest to send


@pytest.mark.parametrize("late_by_windows", [3, 10])
def test_a_planner_that_was_not_run_for_a_while_catches_up_each_step_once(late_by_windows: int) -> None:
    c = CASES[1]  # TS, 120 minutes to acknowledge
    now = c.assigned_at + timedelta(minutes=120 * late_by_windows)
    planned = plan([c], Done(), ORG, POLICY, CADENCE, now)
    assert [(s.step, s.to) for s in planned.steps if s.deadline == "acknowledge"] == [
        (1, ("TACP",)),
        (2, ("TDCP",)),
        (3, ("CP",)),
    ]
    assert "acknowledge" not in [r.deadline for r in planned.reminders]  # its deadline is past: noise now
