"""An emergency reaches a person at once whatever its category, through the real routing stage on SQLite and
PostgreSQL: routed to the desk, every desk officer gets a message on each of their channels at emergency
priority (and the supervisor a copy) in the same transaction, and the notify stage sends them; a desk case
that is no emergency still tells nobody. With a place lookup, an emergency filed under a category no station
acts on goes to the station of its place."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.db import session_scope
from models.outbox import EMERGENCY_PRIORITY
from models.routing import Assignment, OutboxMessage
from models.secret import Secret
from models.tables import AuditEvent, Complaint
from notify.stage import NotifyStage
from routing.people import Organisation
from routing.stage import RouteStage
from tests.builders import make_org
from tests.integration.test_notify_delivery import NOW, SETTINGS, add_complaint, context

DESK1_CHANNELS = ("json://127.0.0.1:9/desk1", "mailto://127.0.0.1:9?to=desk1@example.org")


def force() -> Organisation:
    """The small force of the rules tests with two desk officers (one on two channels) and everyone reachable."""
    channels = {"DESK1": DESK1_CHANNELS, "DESK2": ("json://127.0.0.1:9/desk2",)}
    base = make_org().officers
    officers = [*base.values(), replace(base["DESK1"], id="DESK2", name="Officer DESK2")]
    return make_org(
        officers=[
            replace(o, channels=tuple(map(Secret, channels.get(o.id, (f"json://127.0.0.1:9/{o.id}",)))))
            for o in officers
        ]
    )


ORG = force()


def messages_for(engine: Engine, complaint_id: int) -> list[tuple[str, str, int, int]]:
    """(officer, purpose, channel, priority) of every outbox row about the case, due now."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.complaint_id == complaint_id).order_by(col(OutboxMessage.id))
        ).all()
        assert all(m.next_attempt_at == NOW for m in rows), "an emergency's messages wait for nothing"
        return [(m.officer_id, m.purpose, m.channel_index, m.priority) for m in rows]


def assignments_of(engine: Engine, complaint_id: int) -> tuple[str, list[tuple[str, str | None, str | None, str]]]:
    with session_scope(engine) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        rows = session.exec(
            select(Assignment).where(Assignment.complaint_id == complaint_id).order_by(col(Assignment.id))
        ).all()
        return complaint.status, [(a.role, a.officer_id, a.unit_id, a.rule) for a in rows]


def test_an_emergency_routed_to_the_desk_reaches_every_desk_officer_at_once(engine: Engine) -> None:
    referral = add_complaint(
        engine, category="civic_referral", station=None, emergency=True, text="Stray dogs attacking children"
    )
    unplaced = add_complaint(engine, category="women_safety", station=None, emergency=True)
    calm_referral = add_complaint(engine, category="civic_referral", station=None, text="Garbage not cleared")
    calm_unplaced = add_complaint(engine, category="theft", station=None)

    counts = RouteStage(context(ORG)).run(engine, NOW)

    assert (counts["to_desk"], counts["referred"], counts["assigned"]) == (3, 1, 0)
    told = [
        ("DESK1", "desk", 0, EMERGENCY_PRIORITY),
        ("DESK1", "desk", 1, EMERGENCY_PRIORITY),
        ("DESK2", "desk", 0, EMERGENCY_PRIORITY),
        ("CP", "copy", 0, EMERGENCY_PRIORITY),  # the commissioner heads the office above the desk
    ]
    for case in (referral, unplaced):
        assert messages_for(engine, case) == told
        assert assignments_of(engine, case) == (
            "desk",
            [("desk", None, "desk", "emergency_to_desk"), ("supervisor_copy", "CP", "cp", "emergency_to_desk")],
        )
    assert messages_for(engine, calm_referral) == messages_for(engine, calm_unplaced) == []
    assert assignments_of(engine, calm_unplaced) == ("desk", [("desk", None, "desk", "no_station")])
    with session_scope(engine) as session:
        [routed] = [
            e
            for e in session.exec(select(AuditEvent).where(AuditEvent.kind == "complaint.routed")).all()
            if e.entity_id == str(referral)
        ]
    assert routed.detail["desk_officers"] == ["DESK1", "DESK2"] and routed.detail["copies"] == ["CP"]

    sent = RecordingSender()
    assert NotifyStage(ORG, SETTINGS, sender=sent).run(engine, NOW)["notified"] == 2 * len(told)
    assert sorted(sent.urls) == sorted([*DESK1_CHANNELS, "json://127.0.0.1:9/desk2", "json://127.0.0.1:9/CP"] * 2)
    assert all("EMERGENCY" in subject for subject in sent.subjects)


def test_with_a_place_lookup_an_emergency_referral_goes_to_the_station_of_its_place(engine: Engine) -> None:
    asked: list[tuple[float, float]] = []

    def law_and_order_station(lat: float, lon: float) -> str | None:
        asked.append((lat, lon))
        return "l1" if lat > 12.0 else None

    placed = add_complaint(engine, category="civic_referral", station=None, emergency=True, lat=12.93, lon=77.62)
    outside = add_complaint(engine, category="appreciation", station=None, emergency=True, lat=1.0, lon=1.0)
    calm = add_complaint(engine, category="civic_referral", station=None, lat=12.93, lon=77.62)

    RouteStage(replace(context(ORG), place_station=law_and_order_station)).run(engine, NOW)

    assert assignments_of(engine, placed) == (
        "assigned",
        [("assignee", "L1-A", "l1", "on_duty_least_loaded"), ("supervisor_copy", "ACP1", "a1", "on_duty_least_loaded")],
    )
    assert {m[0] for m in messages_for(engine, placed)} == {"L1-A", "ACP1"}
    assert assignments_of(engine, outside)[1][0] == ("desk", None, "desk", "emergency_to_desk")
    assert {m[0] for m in messages_for(engine, outside)} == {"DESK1", "DESK2", "CP"}
    assert assignments_of(engine, calm)[0] == "referral" and messages_for(engine, calm) == []
    assert asked == [(12.93, 77.62), (1.0, 1.0)]  # asked for emergencies only


def test_an_emergency_whose_officer_leaves_with_nobody_to_take_it_is_brought_to_the_desk_at_once(
    engine: Engine,
) -> None:
    case = add_complaint(engine, category="violence", station="l3", emergency=True)
    RouteStage(context(ORG)).run(engine, NOW)
    assert assignments_of(engine, case)[1][0][:2] == ("assignee", "L3-DUTY")
    gone = {"L3-DUTY", "L3-HEAD", "ACP2", "DCP", "CP"}  # the station, and everyone above it
    left = make_org(officers=[replace(o, status="transferred") if o.id in gone else o for o in ORG.officers.values()])

    assert RouteStage(context(left)).run(engine, NOW + timedelta(hours=1))["reassigned"] == 1

    status, rows = assignments_of(engine, case)
    assert status == "desk" and rows[-1] == ("desk", None, "desk", "reassigned_inactive:emergency_nobody_to_desk")
    with session_scope(engine) as session:
        later = session.exec(
            select(OutboxMessage).where(OutboxMessage.complaint_id == case, OutboxMessage.purpose == "reassign")
        ).all()
    assert sorted((m.officer_id, m.channel_index) for m in later) == [("DESK1", 0), ("DESK1", 1), ("DESK2", 0)]


@dataclass
class RecordingSender:
    urls: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)

    def send(self, url: str, subject: str, body: str) -> bool:
        self.urls.append(url)
        self.subjects.append(subject)
        return True
