"""Property tests: the routing rules on any facts (issue 12, item 3).

What the classifier is unsure of goes to a person: a non-emergency below ``desk_below_confidence`` is never
referred away, closed or assigned to a station, whatever its category, station, flags or text; an emergency
always reaches someone (an assignee, or the desk's officers told at once); an accusation never reaches anyone
in the accused station. The rules are pure, so any hour of any day is tried.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from models.taxonomy import Category
from routing.rules import CaseFacts, Policy, decide
from tests.builders import make_org

SCALE = int(os.environ.get("PROPERTY_EXAMPLES", "1"))
PROPERTY = settings(max_examples=200 * SCALE, deadline=None, derandomize=SCALE == 1, database=None)
ORG = make_org()
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday
CATEGORIES = st.sampled_from([c.value for c in Category])
STATIONS = st.none() | st.sampled_from([*ORG.stations, "nowhere"])
TIMES = st.integers(0, 7 * 24 * 60 - 1).map(lambda minute: START + timedelta(minutes=minute))
POLICIES = st.builds(
    Policy,
    other_outcome=st.sampled_from(["desk", "closed"]),
    desk_below_confidence=st.floats(0.05, 1.0),
)


@st.composite
def unsure_facts(draw: st.DrawFn, policy: Policy) -> CaseFacts:
    return CaseFacts(
        1,
        draw(CATEGORIES),
        draw(STATIONS),
        is_emergency=False,
        is_vip=draw(st.booleans()),
        text=draw(st.text(max_size=40) | st.sampled_from(["garbage not cleared", "power cut, BESCOM", ""])),
        is_misconduct=draw(st.booleans()),
        confidence=draw(st.floats(0.0, policy.desk_below_confidence, exclude_max=True)),
    )


@PROPERTY
@given(POLICIES.flatmap(lambda p: st.tuples(st.just(p), unsure_facts(p))), TIMES)
@example((Policy(), CaseFacts(1, "civic_referral", None, text="ขโมย 5", confidence=0.4276)), START)  # was referred
@example((Policy(), CaseFacts(1, "officer_misconduct", "l1", confidence=0.1)), START)
def test_what_the_classifier_is_unsure_of_goes_to_a_person(generated: tuple[Policy, CaseFacts], now: datetime) -> None:
    policy, facts = generated
    decision = decide(facts, ORG, now, {}, policy)
    is_accusation = facts.is_misconduct or facts.category == Category.OFFICER_MISCONDUCT
    assert decision.outcome == "desk" or (is_accusation and decision.outcome == "assigned"), decision
    if decision.outcome == "assigned":  # an accusation goes above the station, however unsure
        assert decision.assignee is not None and decision.assignee.unit_id != facts.station_id


@PROPERTY
@given(CATEGORIES, STATIONS, st.booleans(), st.booleans(), st.floats(0.0, 1.0), POLICIES, TIMES)
def test_an_emergency_always_reaches_someone_and_an_accusation_never_the_accused(
    category: str, station: str | None, is_vip: bool, is_misconduct: bool, confidence: float, policy: Policy,
    now: datetime,
) -> None:
    facts = CaseFacts(1, category, station, is_emergency=True, is_vip=is_vip, is_misconduct=is_misconduct,
                      confidence=confidence)
    decision = decide(facts, ORG, now, {}, policy)
    assert decision.outcome in ("assigned", "desk")
    assert decision.recipients, decision  # an assignee, or the desk's officers told at once
    if is_misconduct or category == Category.OFFICER_MISCONDUCT:
        assert all(r.unit_id != station for r in decision.recipients), decision
