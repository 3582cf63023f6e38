"""The assignment rules: who gets a case, who is copied, and by when. Pure: data in, a decision out.

Safety first, whatever the category: an **emergency** always reaches a person at once. With a known
station it goes to the officer on duty there (the station's head, then its supervisor, when nobody is),
with the supervisor copied; with no station, an unknown one or nobody at all to take it, it goes to the
desk *and* the desk's officers are told at once, with the station's supervisor (else the desk's) copied.
It is never referred away, closed or left silently in the desk's queue, and the misconduct rules still
keep it from the accused station.

Then, in order: a misconduct accusation in a category no station acts on → the desk (never referred away
or closed); ``civic_referral`` → no officer, a referral reply naming the authority (one the classifier is unsure of → the
desk: a wrong "not our matter" leaves the citizen stranded); ``appreciation`` and
``information_request`` → the social-media desk; ``other`` → the desk or closed, as configured (an
``other`` the classifier is unsure of, such as a post it cannot read, is never closed); no known station
→ the desk's triage queue; ``officer_misconduct``, or any category with the misconduct flag → the head of
the first unit *above* the accused station (never anyone in it, copies included); a non-emergency the
classifier is unsure of (confidence below ``desk_below_confidence``) → the desk, since a wrong station is
worse than a person looking; anything else → the officer on duty at the station (the least loaded when
several are), falling back to the station's head, then the supervisor, then the desk. Emergencies copy the
station's supervisor, VIP posts copy the DCP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from models.deadlines import DeadlinePolicy, Duration, Window
from models.taxonomy import Category
from routing.people import Officer, Organisation

Outcome = Literal["assigned", "desk", "referral", "closed"]
Role = Literal["assignee", "supervisor_copy", "dcp_copy", "desk"]  # desk: an officer of the desk told at once

DEFAULT_AUTHORITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("BWSSB", ("water supply", "drinking water", "sewage", "sewer", "manhole", "water leak", "pipeline", "bwssb")),
    ("BESCOM", ("power cut", "power outage", "electricity", "transformer", "live wire", "electric pole", "bescom")),
    ("BMRCL", ("metro", "namma metro", "bmrcl")),
    ("BMTC", ("bmtc", "bus stop", "bus conductor", "bus driver")),
    ("South Western Railway", ("railway", "train", "platform", "level crossing")),
    (
        "BBMP",
        (
            "garbage",
            "pothole",
            "streetlight",
            "street light",
            "stray dog",
            "footpath",
            "drain",
            "fallen tree",
            "encroachment",
            "debris",
            "mosquito",
            "bbmp",
        ),
    ),
)


_NO_STATION_CATEGORIES = frozenset(
    {Category.CIVIC_REFERRAL, Category.APPRECIATION, Category.INFORMATION_REQUEST, Category.OTHER}
)


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about a complaint."""

    complaint_id: int
    category: str
    station_id: str | None  # for an emergency in a category without a layer: the station of its place, if known
    is_emergency: bool = False
    is_vip: bool = False
    text: str = ""
    is_misconduct: bool = False  # the post accuses the police, whatever the category
    confidence: float = 1.0  # the category's calibrated probability


@dataclass(frozen=True)
class Deadlines:
    """Deadlines in minutes per priority (config ``[routing.deadlines]``); :meth:`policy` is what routing
    reads. A :class:`DeadlinePolicy` adds working days and per-category deadlines."""

    acknowledge_min: int = 120
    action_min: int = 24 * 60
    emergency_acknowledge_min: int = 10
    emergency_action_min: int = 120
    vip_acknowledge_min: int = 30
    vip_action_min: int = 6 * 60

    def policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(
            normal=Window(Duration(self.acknowledge_min), Duration(self.action_min)),
            emergency=Window(Duration(self.emergency_acknowledge_min), Duration(self.emergency_action_min)),
            vip=Window(Duration(self.vip_acknowledge_min), Duration(self.vip_action_min)),
        )


@dataclass(frozen=True)
class Policy:
    other_outcome: Literal["desk", "closed"] = "desk"
    deadlines: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    authorities: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_AUTHORITIES
    default_authority: str = "BBMP"
    desk_below_confidence: float = 0.5  # a non-emergency less sure than this goes to the desk, not a station


@dataclass(frozen=True)
class Recipient:
    officer_id: str
    unit_id: str
    role: Role


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    rule: str  # names the rule that chose; goes on the audit trail
    station_id: str | None = None
    assignee: Recipient | None = None
    copies: tuple[Recipient, ...] = ()
    desk_officers: tuple[Recipient, ...] = ()  # told at once: an emergency the desk must place
    authority: str | None = None
    acknowledge_by: datetime | None = None
    act_by: datetime | None = None

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        return ((self.assignee,) if self.assignee else ()) + self.desk_officers + self.copies


def decide(
    facts: CaseFacts, org: Organisation, now: datetime, load: Mapping[str, int], policy: Policy = Policy()
) -> Decision:
    """The decision for one complaint at ``now``; ``load``: open cases per officer id."""
    category = facts.category
    is_misconduct = facts.is_misconduct or category == Category.OFFICER_MISCONDUCT
    if is_misconduct and category in _NO_STATION_CATEGORIES:
        return _to_desk(Decision("desk", "misconduct_to_desk"), facts, org, policy, now)
    by_category = None if facts.is_emergency else _no_police_action(facts, policy)
    if by_category is not None:  # never for an emergency: it goes to a station or, told at once, to the desk
        return by_category
    station_id = facts.station_id
    if station_id is None or station_id not in org.stations:
        rule = "no_station" if station_id is None else "unknown_station"
        if facts.is_emergency:
            rule = "emergency_to_desk" if station_id is None else "emergency_unknown_station_to_desk"
        return _to_desk(Decision("desk", rule, station_id), facts, org, policy, now)
    if is_misconduct:
        chosen = _supervisor(org, station_id, excluding=station_id)
        rule = "misconduct_to_supervisor"
    elif not facts.is_emergency and facts.confidence < policy.desk_below_confidence:
        return _timed(Decision("desk", "low_confidence_desk", station_id), facts, policy, now)
    else:
        chosen, rule = _station_officer(org, station_id, now, load)
    if chosen is None:
        if facts.is_emergency:
            rule = "emergency_misconduct_to_desk" if is_misconduct else "emergency_nobody_to_desk"
        return _timed(_to_desk(Decision("desk", rule, station_id), facts, org, policy, now), facts, policy, now)
    assignee = Recipient(chosen.id, chosen.unit_id, "assignee")
    copies: list[Recipient] = []
    if facts.is_emergency and not is_misconduct:
        supervisor = _supervisor(org, station_id, excluding=station_id)
        if supervisor is not None:
            copies.append(Recipient(supervisor.id, supervisor.unit_id, "supervisor_copy"))
    if facts.is_vip:
        dcp = next((org.head(u) for u in org.chain(station_id)[1:] if org.is_dcp(u) and org.head(u)), None)
        if dcp is not None:
            copies.append(Recipient(dcp.id, dcp.unit_id, "dcp_copy"))
    unique = [c for i, c in enumerate(copies) if c.officer_id != chosen.id and c not in copies[:i]]
    if is_misconduct:  # invariant 3, whatever the hierarchy data says: nobody in the accused station
        unique = [c for c in unique if c.unit_id != station_id]
    decision = Decision("assigned", rule, station_id, assignee, tuple(unique))
    return _timed(decision, facts, policy, now)


def _no_police_action(facts: CaseFacts, policy: Policy) -> Decision | None:
    """The outcome of a category no station acts on (a referral, the desk, closed), None for the others."""
    category = facts.category
    if category == Category.CIVIC_REFERRAL:
        if facts.confidence < policy.desk_below_confidence:  # unsure, or a post it cannot read: never referred away
            return Decision("desk", "low_confidence_desk")
        return Decision("referral", "civic_referral", authority=referral_authority(facts.text, policy))
    if category in (Category.APPRECIATION, Category.INFORMATION_REQUEST):
        return Decision("desk", f"{category}_to_desk")
    if category == Category.OTHER:
        if policy.other_outcome == "closed" and facts.confidence < policy.desk_below_confidence:
            return Decision("desk", "low_confidence_desk")  # unsure, or a post it cannot read: a person looks
        return Decision(policy.other_outcome, f"other_{policy.other_outcome}")
    return None


def _to_desk(decision: Decision, facts: CaseFacts, org: Organisation, policy: Policy, now: datetime) -> Decision:
    """A desk decision as it is, unless the case is an emergency: then the desk's officers are told at once,
    the supervisor of the station (else of the desk) is copied, nobody in an accused station is either, and
    the emergency deadlines run."""
    if not facts.is_emergency:
        return decision
    is_misconduct = facts.is_misconduct or facts.category == Category.OFFICER_MISCONDUCT
    accused = {facts.station_id, decision.station_id} - {None} if is_misconduct else set()
    supervisor = None
    if decision.station_id is not None and decision.station_id in org.stations:
        supervisor = _supervisor(org, decision.station_id, excluding=decision.station_id)
    if supervisor is None:
        supervisor = _supervisor(org, org.desk_unit, excluding=org.desk_unit)
    desk = tuple(Recipient(o.id, o.unit_id, "desk") for o in org.desk_officers() if o.unit_id not in accused)
    copies = tuple(
        Recipient(s.id, s.unit_id, "supervisor_copy")
        for s in (supervisor,)
        if s is not None and s.unit_id not in accused and s.id not in {d.officer_id for d in desk}
    )
    return _timed(replace(decision, desk_officers=desk, copies=copies), facts, policy, now)


def _station_officer(
    org: Organisation, station_id: str, now: datetime, load: Mapping[str, int]
) -> tuple[Officer | None, str]:
    on_duty = org.on_duty(station_id, now)
    if len(on_duty) == 1:
        return org.officers[on_duty[0]], "on_duty"
    if on_duty:
        return org.officers[least_loaded(on_duty, load) or on_duty[0]], "on_duty_least_loaded"
    head = org.head(station_id)
    if head is not None:
        return head, "nobody_on_duty_station_head"
    supervisor = _supervisor(org, station_id, excluding=station_id)
    if supervisor is not None:
        return supervisor, "nobody_at_station_supervisor"
    return None, "nobody_available"


def _supervisor(org: Organisation, station_id: str, *, excluding: str) -> Officer | None:
    """The active head of the nearest unit above the station with one, never a member of ``excluding``."""
    for unit_id in org.chain(station_id)[1:]:
        head = org.head(unit_id)
        if head is not None and head.unit_id != excluding:
            return head
    return None


def _timed(decision: Decision, facts: CaseFacts, policy: Policy, now: datetime) -> Decision:
    due = policy.deadlines.deadlines_for(facts.category, facts.is_emergency, facts.is_vip, now)
    return replace(decision, acknowledge_by=due.acknowledge_by, act_by=due.act_by)


def referral_authority(text: str, policy: Policy = Policy()) -> str:
    """The civic authority a referral should name: the one whose keywords the text hits most."""
    lowered = text.lower()
    best, best_hits = policy.default_authority, 0
    for authority, keywords in policy.authorities:
        hits = sum(1 for k in keywords if re.search(rf"\b{re.escape(k)}", lowered))
        if hits > best_hits:
            best, best_hits = authority, hits
    return best


def least_loaded(candidates: Sequence[str], load: Mapping[str, int]) -> str | None:
    """The candidate with the fewest open cases; the earlier one in roster order on a tie."""
    return min(candidates, key=lambda i: (load.get(i, 0), candidates.index(i)), default=None)
