"""The assignment rules, as tables over a small made-up force (``tests.builders.make_org``).

The force: traffic station TS under a traffic ACP and DCP; law-and-order stations L1 and L2 under
ACP office A1, and L3 alone under ACP office A2; both ACP offices under DCP office D, under the
commissioner. Times are in Bengaluru (UTC+05:30).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from routing.people import check
from routing.rules import CaseFacts, Policy, decide, referral_authority
from tests.builders import make_org

IST = ZoneInfo("Asia/Kolkata")


def ist(day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC time given as Bengaluru wall-clock time on November ``day``, 2026 (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=IST).astimezone(UTC)


def facts(category: str, station: str | None = "l1", **overrides: Any) -> CaseFacts:
    return replace(CaseFacts(1, category, station), **overrides)


MONDAY_NOON = ist(23, 12)
ORG = make_org()


def test_the_small_force_is_consistent() -> None:
    assert check(ORG) == []


@pytest.mark.parametrize(
    ("case", "now", "outcome", "rule", "assignee"),
    [
        (facts("theft"), MONDAY_NOON, "assigned", "on_duty_least_loaded", "L1-A"),
        (facts("traffic_violation", "ts"), MONDAY_NOON, "assigned", "on_duty", "TS-DAY"),
        (facts("traffic_violation", "ts"), ist(23, 23, 30), "assigned", "on_duty", "TS-NIGHT"),  # night shift
        (facts("traffic_violation", "ts"), ist(24, 7, 59), "assigned", "on_duty", "TS-NIGHT"),  # past midnight
        (facts("violence"), ist(24, 2), "assigned", "on_duty", "L1-NIGHT"),
        (facts("officer_misconduct"), MONDAY_NOON, "assigned", "misconduct_to_supervisor", "ACP1"),
        (facts("officer_misconduct", "ts"), MONDAY_NOON, "assigned", "misconduct_to_supervisor", "TACP"),
        (facts("officer_misconduct", "l3"), MONDAY_NOON, "assigned", "misconduct_to_supervisor", "ACP2"),
        (facts("theft", None), MONDAY_NOON, "desk", "no_station", None),
        (facts("theft", "blr-nowhere"), MONDAY_NOON, "desk", "unknown_station", None),
        (
            facts("civic_referral", None, text="Garbage not cleared for a week"),
            MONDAY_NOON,
            "referral",
            "civic_referral",
            None,
        ),
        (facts("appreciation", None), MONDAY_NOON, "desk", "appreciation_to_desk", None),
        (facts("information_request", "l1"), MONDAY_NOON, "desk", "information_request_to_desk", None),
        (facts("other", None), MONDAY_NOON, "desk", "other_desk", None),
    ],
)
def test_rule_table(case: CaseFacts, now: datetime, outcome: str, rule: str, assignee: str | None) -> None:
    decision = decide(case, ORG, now, load={})
    assert (decision.outcome, decision.rule) == (outcome, rule)
    assert (decision.assignee.officer_id if decision.assignee else None) == assignee


def test_other_can_be_closed_by_policy() -> None:
    decision = decide(facts("other"), ORG, MONDAY_NOON, {}, Policy(other_outcome="closed"))
    assert (decision.outcome, decision.rule, decision.assignee) == ("closed", "other_closed", None)


def test_least_loaded_officer_on_duty_gets_the_case() -> None:
    assert decide(facts("theft"), ORG, MONDAY_NOON, {"L1-A": 3, "L1-B": 1}).assignee.officer_id == "L1-B"  # type: ignore[union-attr]
    assert decide(facts("theft"), ORG, MONDAY_NOON, {"L1-A": 1, "L1-B": 1}).assignee.officer_id == "L1-A"  # type: ignore[union-attr]


@pytest.mark.parametrize("station", ["l1", "l3", "ts"])
def test_misconduct_never_reaches_anyone_in_the_accused_station(station: str) -> None:
    for hour in range(0, 24, 3):
        decision = decide(facts("officer_misconduct", station, is_emergency=True, is_vip=True), ORG, ist(23, hour), {})
        units = {r.unit_id for r in decision.recipients}
        assert decision.recipients and station not in units


def test_misconduct_at_the_only_station_of_an_acp_area_goes_to_that_acp() -> None:
    decision = decide(facts("officer_misconduct", "l3"), ORG, MONDAY_NOON, {})
    assert decision.assignee is not None and (decision.assignee.officer_id, decision.assignee.unit_id) == ("ACP2", "a2")


def test_misconduct_goes_past_an_acp_office_with_nobody_active_to_the_dcp() -> None:
    people = [replace(o, status="transferred") if o.id == "ACP2" else o for o in ORG.officers.values()]
    decision = decide(facts("officer_misconduct", "l3"), make_org(officers=people), MONDAY_NOON, {})
    assert decision.assignee is not None and decision.assignee.officer_id == "DCP"


def test_emergency_copies_the_station_supervisor_and_sets_short_deadlines() -> None:
    decision = decide(facts("violence", is_emergency=True), ORG, MONDAY_NOON, {})
    assert [(r.officer_id, r.role) for r in decision.recipients] == [("L1-A", "assignee"), ("ACP1", "supervisor_copy")]
    assert decision.acknowledge_by == MONDAY_NOON + timedelta(minutes=10)
    assert decision.act_by == MONDAY_NOON + timedelta(minutes=120)


def test_vip_copies_the_dcp() -> None:
    decision = decide(facts("traffic_congestion", "ts", is_vip=True), ORG, MONDAY_NOON, {})
    assert [(r.officer_id, r.role) for r in decision.recipients] == [("TS-DAY", "assignee"), ("TDCP", "dcp_copy")]
    assert decision.acknowledge_by == MONDAY_NOON + timedelta(minutes=30)


def test_vip_emergency_on_law_and_order_copies_acp_and_dcp() -> None:
    decision = decide(facts("women_safety", is_vip=True, is_emergency=True), ORG, MONDAY_NOON, {})
    assert [r.officer_id for r in decision.copies] == ["ACP1", "DCP"]


def test_empty_roster_falls_back_to_the_station_head() -> None:
    decision = decide(facts("theft"), make_org(shifts=[]), MONDAY_NOON, {})
    assert (decision.rule, decision.assignee.officer_id) == ("nobody_on_duty_station_head", "L1-HEAD")  # type: ignore[union-attr]


def test_station_with_nobody_active_falls_back_to_its_supervisor_then_the_desk() -> None:
    people = [o for o in ORG.officers.values() if o.unit_id != "l2"]
    decision = decide(facts("theft", "l2"), make_org(officers=people), MONDAY_NOON, {})
    assert (decision.rule, decision.assignee.officer_id) == ("nobody_at_station_supervisor", "ACP1")  # type: ignore[union-attr]
    nobody = [o for o in people if o.unit_id not in ("a1", "d", "cp")]
    decision = decide(facts("theft", "l2"), make_org(officers=nobody), MONDAY_NOON, {})
    assert (decision.outcome, decision.rule) == ("desk", "nobody_available")


def test_transferred_officer_is_not_on_duty_even_when_rostered() -> None:
    people = [replace(o, status="transferred") if o.id == "TS-DAY" else o for o in ORG.officers.values()]
    decision = decide(facts("road_accident", "ts"), make_org(officers=people), MONDAY_NOON, {})
    assert (decision.rule, decision.assignee.officer_id) == ("nobody_on_duty_station_head", "TS-HEAD")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "authority"),
    [
        ("No drinking water supply in our street for 3 days", "BWSSB"),
        ("Power cut since morning, transformer burst", "BESCOM"),
        ("Namma Metro escalator broken at MG Road", "BMRCL"),
        ("Huge pothole and garbage near the school", "BBMP"),
        ("Train delayed again, platform crowded", "South Western Railway"),
        ("ಕಸ ತೆಗೆದಿಲ್ಲ", "BBMP"),  # no keyword: the default authority
    ],
)
def test_referral_names_the_civic_authority(text: str, authority: str) -> None:
    assert referral_authority(text) == authority
    assert decide(facts("civic_referral", None, text=text), ORG, MONDAY_NOON, {}).authority == authority


# ---- the misconduct flag and the classifier's confidence ------------------------------------------------

UNSURE = 0.3  # below the default desk_below_confidence (0.5)


@pytest.mark.parametrize(
    ("case", "outcome", "rule", "recipients"),
    [
        # "my bike was stolen and the station refuses to file an FIR": theft with the flag → the supervisor
        (facts("theft", "l1", is_misconduct=True), "assigned", "misconduct_to_supervisor", [("ACP1", "assignee")]),
        (facts("theft", "l3", is_misconduct=True), "assigned", "misconduct_to_supervisor", [("ACP2", "assignee")]),
        (
            facts("traffic_violation", "ts", is_misconduct=True),
            "assigned",
            "misconduct_to_supervisor",
            [("TACP", "assignee")],
        ),
        # an emergency with misconduct goes at once to that supervisor, with nobody at the station copied
        (
            facts("violence", "l1", is_misconduct=True, is_emergency=True),
            "assigned",
            "misconduct_to_supervisor",
            [("ACP1", "assignee")],
        ),
        # the flag is decided before confidence: an unsure accusation still skips the accused station
        (
            facts("theft", "l1", is_misconduct=True, confidence=UNSURE),
            "assigned",
            "misconduct_to_supervisor",
            [("ACP1", "assignee")],
        ),
        # unsure → the desk, not a possibly wrong station
        (facts("theft", "l1", confidence=UNSURE), "desk", "low_confidence_desk", []),
        (facts("traffic_congestion", "ts", confidence=0.49), "desk", "low_confidence_desk", []),
        (
            facts("theft", "l1", confidence=0.5),
            "assigned",
            "on_duty_least_loaded",
            [("L1-A", "assignee")],
        ),  # at the line
        # an emergency is never held back for low confidence
        (
            facts("road_accident", "ts", confidence=UNSURE, is_emergency=True),
            "assigned",
            "on_duty",
            [("TS-DAY", "assignee"), ("TACP", "supervisor_copy")],
        ),
        # an accusation the classifier put where no station acts is read by a person: never referred or closed
        (facts("other", None, is_misconduct=True), "desk", "misconduct_to_desk", []),
        (
            facts("civic_referral", None, is_misconduct=True, text="garbage, and the police did nothing"),
            "desk",
            "misconduct_to_desk",
            [],
        ),
        # no place known: the desk, as for any case
        (facts("theft", None, is_misconduct=True), "desk", "no_station", []),
    ],
)
def test_misconduct_flag_and_confidence_table(
    case: CaseFacts, outcome: str, rule: str, recipients: list[tuple[str, str]]
) -> None:
    decision = decide(case, ORG, MONDAY_NOON, load={})
    assert (decision.outcome, decision.rule) == (outcome, rule)
    assert [(r.officer_id, r.role) for r in decision.recipients] == recipients


@pytest.mark.parametrize("category", ["theft", "violence", "women_safety", "cybercrime", "missing_person"])
@pytest.mark.parametrize("station", ["l1", "l2", "l3"])
@pytest.mark.parametrize(
    "extra", [{}, {"is_emergency": True}, {"is_vip": True, "is_emergency": True}, {"confidence": UNSURE}]
)
def test_a_flagged_case_never_reaches_anyone_in_the_accused_station(
    category: str, station: str, extra: dict[str, Any]
) -> None:
    for hour in range(0, 24, 3):
        decision = decide(facts(category, station, is_misconduct=True, **extra), ORG, ist(23, hour), {})
        assert decision.outcome == "assigned" and decision.rule == "misconduct_to_supervisor"
        assert decision.recipients and station not in {r.unit_id for r in decision.recipients}
        assert decision.assignee is not None and decision.assignee.unit_id == ("a2" if station == "l3" else "a1")


def test_emergency_misconduct_keeps_the_emergency_deadlines() -> None:
    decision = decide(facts("theft", is_misconduct=True, is_emergency=True), ORG, MONDAY_NOON, {})
    assert decision.acknowledge_by == MONDAY_NOON + timedelta(minutes=10)
    assert decision.act_by == MONDAY_NOON + timedelta(minutes=120)


def test_the_confidence_line_is_the_deployments() -> None:
    sure_enough = facts("theft", confidence=0.6)
    assert decide(sure_enough, ORG, MONDAY_NOON, {}).outcome == "assigned"
    strict = decide(sure_enough, ORG, MONDAY_NOON, {}, Policy(desk_below_confidence=0.8))
    assert (strict.outcome, strict.rule, strict.station_id) == ("desk", "low_confidence_desk", "l1")
    never = decide(facts("theft", confidence=0.01), ORG, MONDAY_NOON, {}, Policy(desk_below_confidence=0.0))
    assert never.outcome == "assigned"


# ---- safety rules no category overrides: an emergency reaches a person at once ---------------------------

NO_POLICE_ACTION = ["civic_referral", "other", "appreciation", "information_request"]
SUPERVISOR_OF = {"l1": "ACP1", "l3": "ACP2", "ts": "TACP", None: "CP", "blr-nowhere": "CP"}  # CP heads the desk's office
POLICIES = [Policy(), Policy(other_outcome="closed")]


@pytest.mark.parametrize("category", [*NO_POLICE_ACTION, "theft"])
@pytest.mark.parametrize("station", ["l1", "l3", "ts", None, "blr-nowhere"])
@pytest.mark.parametrize("confidence", [0.99, 0.0])
@pytest.mark.parametrize("policy", POLICIES, ids=["other_to_desk", "other_closed"])
def test_an_emergency_of_any_category_reaches_a_person_at_once_with_the_supervisor_copied(
    category: str, station: str | None, confidence: float, policy: Policy
) -> None:
    """Stray dogs attacking children filed as a referral, a fire at night filed as ``other``, "thank you,
    and there is a man with a knife outside": the officer on duty at the station where a station is known,
    else every officer of the desk, told at once, with the supervisor copied; never referred, closed or left
    silently in the desk's queue, at every hour."""
    for hour in range(0, 24, 3):
        now = ist(23, hour)
        case = facts(category, station, is_emergency=True, confidence=confidence, text="garbage and a knife attack")
        decision = decide(case, ORG, now, {}, policy)

        if station is not None and station in ORG.stations:
            assert (decision.outcome, decision.station_id) == ("assigned", station)
            assert decision.assignee is not None and decision.assignee.officer_id in ORG.on_duty(station, now)
            assert decision.desk_officers == ()
        else:
            assert (decision.outcome, decision.assignee) == ("desk", None)
            assert decision.rule == ("emergency_to_desk" if station is None else "emergency_unknown_station_to_desk")
            assert [(r.officer_id, r.role) for r in decision.desk_officers] == [("DESK1", "desk")]
        assert [(r.officer_id, r.role) for r in decision.copies] == [(SUPERVISOR_OF[station], "supervisor_copy")]
        assert decision.authority is None
        assert decision.acknowledge_by == now + timedelta(minutes=10)


@pytest.mark.parametrize("category", [*NO_POLICE_ACTION, "theft", "officer_misconduct"])
@pytest.mark.parametrize("station", ["l1", "l3", "ts", None])
@pytest.mark.parametrize("policy", POLICIES, ids=["other_to_desk", "other_closed"])
def test_an_emergency_accusing_the_police_reaches_a_person_and_never_the_accused_station(
    category: str, station: str | None, policy: Policy
) -> None:
    for hour in range(0, 24, 3):
        case = facts(category, station, is_emergency=True, is_misconduct=True, is_vip=True)
        decision = decide(case, ORG, ist(23, hour), {}, policy)

        assert decision.outcome in ("assigned", "desk") and decision.authority is None
        assert decision.assignee is not None or decision.desk_officers, "somebody is told at once"
        assert station not in {r.unit_id for r in decision.recipients}
        if category in NO_POLICE_ACTION or station is None:  # where it happened is not known: a person decides
            assert decision.rule in ("misconduct_to_desk", "emergency_to_desk")
            assert [r.officer_id for r in decision.desk_officers] == ["DESK1"]
            assert [r.officer_id for r in decision.copies] == ["CP"]
        else:
            assert decision.rule == "misconduct_to_supervisor"
            assert decision.assignee is not None and decision.assignee.officer_id == SUPERVISOR_OF[station]


def test_an_emergency_nobody_at_its_station_can_take_goes_to_the_desk_told_at_once() -> None:
    people = [o for o in ORG.officers.values() if o.unit_id != "l2"]
    decision = decide(facts("violence", "l2", is_emergency=True), make_org(officers=people), MONDAY_NOON, {})
    assert (decision.outcome, decision.rule, decision.station_id) == ("assigned", "nobody_at_station_supervisor", "l2")
    alone = [o for o in people if o.unit_id not in ("a1", "d")]  # nobody above the station but the commissioner
    decision = decide(facts("violence", "l2", is_emergency=True), make_org(officers=alone), MONDAY_NOON, {})
    assert (decision.outcome, decision.rule) == ("assigned", "nobody_at_station_supervisor")  # the commissioner
    nobody = [o for o in alone if o.unit_id != "cp"]
    decision = decide(facts("violence", "l2", is_emergency=True), make_org(officers=nobody), MONDAY_NOON, {})
    assert (decision.outcome, decision.rule) == ("desk", "emergency_nobody_to_desk")
    assert [r.officer_id for r in decision.desk_officers] == ["DESK1"] and decision.copies == ()
    assert decision.acknowledge_by == MONDAY_NOON + timedelta(minutes=10)


def test_a_desk_without_officers_still_copies_the_supervisor() -> None:
    people = [o for o in ORG.officers.values() if o.unit_id != "desk"]
    decision = decide(facts("civic_referral", None, is_emergency=True), make_org(officers=people), MONDAY_NOON, {})
    assert (decision.outcome, decision.desk_officers) == ("desk", ())
    assert [r.officer_id for r in decision.recipients] == ["CP"]


@pytest.mark.parametrize("category", NO_POLICE_ACTION)
def test_a_desk_outcome_that_is_no_emergency_tells_nobody(category: str) -> None:
    for case in (facts(category, None), facts(category, "l1", confidence=0.0)):
        decision = decide(case, ORG, MONDAY_NOON, {})
        assert decision.recipients == () and decision.outcome in ("desk", "referral")


def test_an_unsure_other_such_as_a_post_the_classifier_cannot_read_is_never_closed() -> None:
    closing = Policy(other_outcome="closed")
    decision = decide(facts("other", None, confidence=0.0), ORG, MONDAY_NOON, {}, closing)
    assert (decision.outcome, decision.rule, decision.recipients) == ("desk", "low_confidence_desk", ())
    assert decide(facts("other", None, confidence=0.9), ORG, MONDAY_NOON, {}, closing).outcome == "closed"
    assert decide(facts("other", None, confidence=0.0), ORG, MONDAY_NOON, {}).rule == "other_desk"
