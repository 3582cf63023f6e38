"""Officer actions and the follow-up stage on a real database: a case from routing to the citizen's reopen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.followup import Reply
from models.lifecycle import IllegalTransition
from models.mentions import ensure_account
from models.routing import Assignment, OutboxMessage
from models.tables import AuditEvent, Complaint, Mention
from monitor.followup.actions import CaseActions, CaseNotFound
from monitor.followup.compose import ReplyComposer, ReplyOptions
from monitor.followup.stage import FollowupStage
from routing.stage import RouteStage
from tests.builders import make_org
from tests.integration.test_notify_delivery import NOW, context


class Plain:
    """Templates reduced to what the tests read: the kind, the values that matter, the marker."""

    def render(self, kind: str, language: str, platform: str, values: Mapping[str, str]) -> str:
        return f"{kind} [{language}] {values['docket']} {values['office']}{values['authority']} {values['note']} {values['ref']}"


ORG = make_org()
COMPOSER = ReplyComposer(Plain(), lambda kind, text: text.replace("98450 12345", "••••••••45"), lambda t, lang: "en", ReplyOptions("Test Police"))


def actions(engine: Engine) -> CaseActions:
    return CaseActions(engine, ORG, COMPOSER, dashboard_base_url="http://127.0.0.1:8000")


def file_post(engine: Engine, *, text: str, author: str = "42", complaint_id: int | None = None, **kw: Any) -> int:
    """A classified post: a new case (category, station) or, with ``complaint_id``, a post joining one."""
    with session_scope(engine) as session:
        account_id = ensure_account(session, platform="x", key="blrcitypolice", external_user_id="1", label="x")
        if complaint_id is None:
            complaint = Complaint(
                category=kw.get("category", "theft"),
                confidence=0.9,
                station_id=kw.get("station", "l1"),
                is_emergency=kw.get("emergency", False),
                created_at=NOW,
            )
            session.add(complaint)
            session.flush()
            complaint_id = complaint.id
        count = len(session.exec(select(Mention)).all())
        session.add(
            Mention(
                platform="x",
                external_id=f"19{count:08d}",
                account_id=account_id,
                author_id=author,
                text=text,
                created_at=kw.get("at", NOW),
                complaint_id=complaint_id,
                classified_at=kw.get("at", NOW),
                post_category=kw.get("post_category", kw.get("category", "theft")),
                joined_as=kw.get("joined_as", "first"),
            )
        )
    assert complaint_id is not None
    return complaint_id


def route_and_follow(engine: Engine, at: Any = NOW) -> dict[str, int]:
    RouteStage(context(ORG)).run(engine, at)
    return FollowupStage(ORG, COMPOSER, actions(engine)).run(engine, at)


def case(engine: Engine, complaint_id: int) -> Complaint:
    with session_scope(engine) as session:
        found = session.get(Complaint, complaint_id)
        assert found is not None
        session.expunge(found)
        return found


def replies(engine: Engine) -> list[Reply]:
    with session_scope(engine) as session:
        rows = list(session.exec(select(Reply).order_by(Reply.id)).all())  # type: ignore[arg-type]
        for row in rows:
            session.expunge(row)
        return rows


def holder(engine: Engine, complaint_id: int) -> str | None:
    with session_scope(engine) as session:
        return session.exec(
            select(Assignment.officer_id).where(
                Assignment.complaint_id == complaint_id, Assignment.role == "assignee", Assignment.status == "open"
            )
        ).first()


def test_a_case_from_acknowledgement_to_action_taken_reaches_the_citizen_once(engine: Engine) -> None:
    cid = file_post(engine, text="My phone was snatched near the bus stand")
    assert route_and_follow(engine)["replies_planned"] == 1
    docket = case(engine, cid).docket
    assert docket is not None
    [ack] = replies(engine)
    assert (ack.kind, ack.status, ack.marker) == ("acknowledgement", "pending", f"{docket}/A-{ack.mention_id}")
    assert "L1" in ack.text  # the station it went to, by name
    officer = holder(engine, cid)
    assert officer is not None

    with pytest.raises(IllegalTransition, match="only the officer holding the case"):
        actions(engine).act(docket, officer_id="L2-HEAD", note="done", now=NOW)
    actions(engine).acknowledge(docket, officer_id=officer, now=NOW + timedelta(minutes=5))
    outcome = actions(engine).act(
        docket, officer_id=officer, note="Phone traced; call 98450 12345 to collect it", now=NOW + timedelta(hours=3)
    )
    assert outcome.replies == 1
    done = case(engine, cid)
    assert (done.status, done.acknowledged_at, done.action_taken_at) == (
        "action_taken",
        NOW + timedelta(minutes=5),
        NOW + timedelta(hours=3),
    )
    action = replies(engine)[-1]
    assert action.kind == "action_taken" and "98450" not in action.text and "••••••••45" in action.text
    assert route_and_follow(engine)["replies_planned"] == 0  # nothing planned twice
    with session_scope(engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(cid))).all()]
    assert {"case.acknowledge", "case.act"} <= set(kinds)


def test_the_citizens_next_post_reopens_a_closed_case_and_a_thank_you_does_not(engine: Engine) -> None:
    cid = file_post(engine, text="Chain snatching at the market")
    route_and_follow(engine)
    docket, officer = case(engine, cid).docket, holder(engine, cid)
    assert docket and officer
    actions(engine).act(docket, officer_id=officer, note="Suspect identified", now=NOW + timedelta(hours=1))
    actions(engine).close(docket, officer_id=officer, now=NOW + timedelta(hours=2))

    later = NOW + timedelta(days=2)
    file_post(engine, text="Thank you!", complaint_id=cid, joined_as="followup", post_category="appreciation", at=later)
    assert route_and_follow(engine, later)["reopened"] == 0
    assert case(engine, cid).status == "closed"

    file_post(engine, text="Nothing has happened, the chain is not back", complaint_id=cid, joined_as="followup", at=later)
    counts = route_and_follow(engine, later)
    assert counts["reopened"] == 1 and counts["replies_planned"] == 1
    reopened = case(engine, cid)
    assert (reopened.status, reopened.reopen_count) == ("reopen_requested", 1)
    assert holder(engine, cid) == officer  # back to the last officer
    with session_scope(engine) as session:
        told = {m.officer_id for m in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "reopen")).all()}
    assert told == {officer, "ACP1"}  # the officer and their supervisor
    assert replies(engine)[-1].kind == "reopened"


def test_a_post_in_the_thread_of_a_case_closed_long_ago_becomes_a_new_case(engine: Engine) -> None:
    cid = file_post(engine, text="Bike stolen")
    route_and_follow(engine)
    docket, officer = case(engine, cid).docket, holder(engine, cid)
    assert docket and officer
    actions(engine).act(docket, officer_id=officer, note="Bike recovered", now=NOW)
    actions(engine).close(docket, officer_id=officer, now=NOW)
    much_later = NOW + timedelta(days=30)
    file_post(engine, text="Now my car was broken into", complaint_id=cid, joined_as="followup", at=much_later)
    assert route_and_follow(engine, much_later)["split_off"] == 1
    assert case(engine, cid).status == "closed"
    with session_scope(engine) as session:
        assert len(session.exec(select(Complaint)).all()) == 2


def test_the_desk_merges_a_duplicate_rejects_spam_and_reassigns(engine: Engine) -> None:
    first = file_post(engine, text="Robbery at the ATM")
    second = file_post(engine, text="Robbery at the ATM, please help", author="77")
    spam = file_post(engine, text="buy followers", author="99", category="other", station=None)
    route_and_follow(engine)
    d1, d2, d3 = (case(engine, c).docket for c in (first, second, spam))
    assert d1 and d2 and d3
    desk = actions(engine)
    with pytest.raises(IllegalTransition, match="reject is for"):
        desk.reject(d3, officer_id="L2-HEAD", reason="spam", now=NOW)
    desk.reject(d3, officer_id="DESK1", reason="spam", now=NOW)
    assert case(engine, spam).status == "rejected"
    desk.merge(d2, officer_id="DESK1", into=d1, now=NOW)
    assert case(engine, second).status == "merged" and case(engine, second).merged_into_id == first
    officer = holder(engine, first)
    assert officer is not None
    other = "L1-HEAD" if officer != "L1-HEAD" else "L1-B"
    assert desk.reassign(d1, officer_id="ACP1", to_officer=other, now=NOW).told == (other,)
    with pytest.raises(IllegalTransition, match="only the officer holding the case"):
        desk.act(d1, officer_id=officer, note="Two arrested", now=NOW + timedelta(hours=1))
    outcome = desk.act(d1, officer_id=other, note="Two arrested", now=NOW + timedelta(hours=1))
    assert outcome.replies == 2  # both reporters hear of the action
    with pytest.raises(CaseNotFound):
        desk.acknowledge("BLR-2026-999999", officer_id="L1-A", now=NOW)


def test_three_reporters_of_one_incident_each_hear_of_the_action_and_the_officer_is_told_once(engine: Engine) -> None:
    cid = file_post(engine, text="Huge pothole at the bus stand", category="road_infrastructure", station="ts")
    for author in ("51", "52"):
        file_post(engine, text="Same pothole, still there", author=author, complaint_id=cid, joined_as="incident")
    assert route_and_follow(engine)["replies_planned"] == 3  # every reporter gets the acknowledgement
    docket, officer = case(engine, cid).docket, holder(engine, cid)
    assert docket and officer
    with session_scope(engine) as session:
        told = session.exec(select(OutboxMessage).where(OutboxMessage.officer_id == officer)).all()
    assert len(told) == 1 and "Reported by: 3 people" in told[0].body  # one message, with the count
    assert actions(engine).act(docket, officer_id=officer, note="Pothole filled", now=NOW).replies == 3
    threads = [r.in_reply_to for r in replies(engine) if r.kind == "action_taken"]
    assert len(set(threads)) == 3  # each in its reporter's own thread
