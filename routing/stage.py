"""The routing stage of the loop: every new complaint gets a docket, an assignment and its notifications.

Complaints with status ``new`` are claimed with ``FOR UPDATE SKIP LOCKED`` (emergencies first), decided
by :func:`routing.rules.decide`, and written in one transaction per batch: the docket, the assignment
rows, the outbox messages (one per recipient and channel) and an audit event naming the rule. The batch's
docket numbers are taken first in a transaction of their own (:func:`models.routing.allocate_dockets`), so
processes routing side by side never wait for each other's counter; a batch that fails leaves a gap. Open
cases of officers no longer active move to whoever the rules pick now. The desk's queue is read on the
dashboard: sending a case to the desk notifies nobody, except an emergency, whose messages go at once to
every officer of the desk (and its supervisor's copy) as they would to an assignee.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.db import session_scope
from models.mentions import audit
from models.outbox import EMERGENCY_PRIORITY, Intent, enqueue, is_digestible, window_end
from models.routing import Assignment, allocate_dockets, open_assignments_of, open_load
from models.tables import Complaint, Mention
from models.taxonomy import Category, layer_for
from routing.cameras import Camera, cameras_near
from routing.messages import CameraLine, CaseSummary, assignment_message
from routing.people import Organisation
from routing.rules import CaseFacts, Decision, Policy, Recipient, decide

logger = logging.getLogger(__name__)
COUNT_FOR = {"assigned": "assigned", "desk": "to_desk", "referral": "referred", "closed": "closed"}
_NO_LAYER = frozenset(c.value for c in Category if layer_for(c) is None)  # civic_referral, appreciation, ...

PlaceStation = Callable[[float, float], str | None]
"""(lat, lon) → the law-and-order station whose area holds the point, or None."""


@dataclass(frozen=True)
class RoutingContext:
    """Everything the stage needs besides storage: people, rules, cameras and how to write messages."""

    org: Organisation
    policy: Policy
    cameras: Sequence[Camera]
    docket_prefix: str
    dashboard_base_url: str
    camera_radius_m: float = 300.0
    max_cameras: int = 5
    batch_size: int = 200
    place_station: PlaceStation | None = None  # for an emergency in a category no station acts on; None: the desk
    # (docket, officer id) → the link in the message to the officer who holds the case (the dashboard's
    # signed link, handed in by the assembly); None: the plain case page
    case_link: Callable[[str, str], str] | None = None

    def case_url(self, docket: str) -> str:
        return f"{self.dashboard_base_url.rstrip('/')}/cases/{docket}"

    def link_for(self, docket: str, officer_id: str) -> str:
        """The case's address in the message to ``officer_id``."""
        return self.case_link(docket, officer_id) if self.case_link is not None else self.case_url(docket)


class RouteStage:
    name = "route"

    def __init__(self, context: RoutingContext) -> None:
        self._ctx = context

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        counts = {"assigned": 0, "to_desk": 0, "referred": 0, "closed": 0, "reassigned": 0}
        counts["reassigned"] = self._reassign(engine, now)
        while True:
            with session_scope(engine) as session:
                batch = _claim_new(session, self._ctx.batch_size)
                if not batch:
                    return counts
                year = now.astimezone(self._ctx.org.tz).year
                # in a transaction of its own: the counter row is not held while the batch is written
                fresh = iter(
                    allocate_dockets(
                        engine, prefix=self._ctx.docket_prefix, year=year, count=sum(1 for c in batch if not c.docket)
                    )
                )
                posts, reporters = _first_posts(session, [c.id for c in batch if c.id is not None])
                load = open_load(session)
                intents: list[Intent] = []
                for complaint in batch:
                    facts = _facts(complaint, posts, self._ctx.place_station)
                    decision = decide(facts, self._ctx.org, now, load, self._ctx.policy)
                    docket = complaint.docket or next(fresh)
                    intents += self._apply(session, complaint, docket, decision, posts, reporters, now)
                    if decision.assignee is not None:
                        load[decision.assignee.officer_id] = load.get(decision.assignee.officer_id, 0) + 1
                    counts[COUNT_FOR[decision.outcome]] += 1
                enqueue(session, intents, now=now)

    def _apply(
        self,
        session: Session,
        complaint: Complaint,
        docket: str,
        decision: Decision,
        posts: Mapping[int, Mention],
        reporters: Mapping[int, int],
        now: datetime,
    ) -> list[Intent]:
        """Write the decision's rows; return the messages to enqueue."""
        complaint_id = complaint.id
        assert complaint_id is not None
        intents: list[Intent] = []
        complaint.docket, complaint.status, complaint.updated_at = docket, decision.outcome, now
        session.add(complaint)

        def row(**fields: Any) -> Assignment:
            return Assignment(
                complaint_id=complaint_id,
                docket=docket,
                station_id=decision.station_id,
                rule=decision.rule,
                assigned_at=now,
                acknowledge_by=decision.acknowledge_by,
                act_by=decision.act_by,
                **fields,
            )

        if decision.outcome != "assigned":
            is_closed = decision.outcome == "closed"
            session.add(
                row(
                    unit_id=self._ctx.org.desk_unit if decision.outcome == "desk" else None,
                    role=decision.outcome,
                    authority=decision.authority,
                    status="closed" if is_closed else "open",
                    ended_at=now if is_closed else None,
                )
            )
        # the assignee and the copies hold rows; the desk's officers told of an emergency share the desk's row
        for r in (*([decision.assignee] if decision.assignee else []), *decision.copies):
            rank = self._ctx.org.officers[r.officer_id].rank
            session.add(row(officer_id=r.officer_id, rank=rank, unit_id=r.unit_id, role=r.role))
        if decision.recipients:
            summary = self._summary(complaint, docket, decision, posts.get(complaint_id), reporters.get(complaint_id, 1))
            intents = [i for r in decision.recipients for i in self._intents(complaint, summary, r, "assign", now)]
        audit(
            session,
            "complaint.routed",
            "complaint",
            complaint.id,
            at=now,
            docket=docket,
            rule=decision.rule,
            outcome=decision.outcome,
            station=decision.station_id,
            officer=decision.assignee.officer_id if decision.assignee else None,
            copies=[c.officer_id for c in decision.copies],
            desk_officers=[d.officer_id for d in decision.desk_officers],
            authority=decision.authority,
        )
        return intents

    def _summary(
        self, complaint: Complaint, docket: str, decision: Decision, post: Mention | None, reporters: int = 1
    ) -> CaseSummary:
        nearby = []
        if complaint.place_lat is not None and complaint.place_lon is not None:
            nearby = cameras_near(
                self._ctx.cameras,
                complaint.place_lat,
                complaint.place_lon,
                radius_m=self._ctx.camera_radius_m,
                limit=self._ctx.max_cameras,
            )
        station = decision.station_id
        return CaseSummary(
            docket=docket,
            category=complaint.category,
            is_emergency=complaint.is_emergency,
            is_vip=complaint.is_vip,
            place=complaint.place_name,
            station_name=self._ctx.org.unit_name(station) if station else None,
            post_text=post.text if post is not None else "",
            post_link=post.permalink if post is not None else None,
            acknowledge_by=decision.acknowledge_by,
            act_by=decision.act_by,
            cameras=[CameraLine(n.camera.name, n.distance_m, n.camera.owner, n.camera.contact) for n in nearby],
            reporters=reporters,
            case_url=self._ctx.case_url(docket),
        )

    def _intents(
        self, complaint: Complaint, summary: CaseSummary, r: Recipient, purpose: str, now: datetime
    ) -> list[Intent]:
        """One message per channel of the recipient; held to the digest window's end if they want digests."""
        officer = self._ctx.org.officers[r.officer_id]
        if r.role == "assignee":  # the holder's own link (copies and the desk get the case page)
            summary = replace(summary, case_url=self._ctx.link_for(summary.docket, officer.id))
        role = "reassign" if purpose == "reassign" else r.role
        subject, body = assignment_message(
            summary, role=role, officer_name=f"{officer.rank} {officer.name}", tz=self._ctx.org.tz
        )
        kind = purpose if purpose == "reassign" or r.role == "assignee" else "copy"
        if r.role == "desk" and purpose != "reassign":
            kind = "desk"  # an officer of the desk told of an emergency: never a digest, and apart from copies
        priority = EMERGENCY_PRIORITY if complaint.is_emergency else 1 if complaint.is_vip else 0
        due_at = None
        if is_digestible(purpose=kind, priority=priority, every_min=officer.digest_every_min):
            due_at = window_end(now, officer.digest_every_min, self._ctx.org.tz)
        assert complaint.id is not None
        return [
            Intent(
                f"{purpose}:{complaint.id}:{officer.id}:{index}",
                kind,
                complaint.id,
                officer.id,
                index,
                subject,
                body,
                priority,
                due_at,
            )
            for index in range(len(officer.channels))
        ]

    def _reassign(self, engine: Engine, now: datetime) -> int:
        departed = [o.id for o in self._ctx.org.officers.values() if not o.is_active]
        moved = 0
        with session_scope(engine) as session:
            held = open_assignments_of(session, departed, limit=self._ctx.batch_size * 5)
            if not held:
                return 0
            posts, _ = _first_posts(session, sorted({a.complaint_id for a in held}))
            load = open_load(session)
            for old in held:
                old.status, old.ended_at = "moved", now
                session.add(old)
                complaint = session.get(Complaint, old.complaint_id)
                if complaint is None or old.role != "assignee":
                    continue  # a departed officer's copy just ends
                # the case was placed already (by the rules or by the desk): unsure or not, it stays in its
                # station rather than going back to the desk because its officer left
                placed = replace(_facts(complaint, posts, self._ctx.place_station), confidence=1.0)
                decision = decide(placed, self._ctx.org, now, load, self._ctx.policy)
                new = decision.assignee
                session.add(
                    Assignment(
                        complaint_id=old.complaint_id,
                        docket=old.docket,
                        officer_id=new.officer_id if new else None,
                        rank=self._ctx.org.officers[new.officer_id].rank if new else None,
                        unit_id=new.unit_id if new else self._ctx.org.desk_unit,
                        station_id=old.station_id,
                        role="assignee" if new else "desk",
                        rule=f"reassigned_inactive:{decision.rule}"[:48],
                        assigned_at=now,
                        acknowledge_by=decision.acknowledge_by,
                        act_by=old.act_by,
                    )
                )
                if new is None:
                    complaint.status = "desk"
                    session.add(complaint)
                    if decision.desk_officers:  # an emergency nobody else can take: the desk is told at once
                        summary = self._summary(complaint, old.docket, decision, posts.get(old.complaint_id))
                        for r in decision.desk_officers:
                            enqueue(session, self._intents(complaint, summary, r, "reassign", now), now=now)
                else:
                    load[new.officer_id] = load.get(new.officer_id, 0) + 1
                    summary = self._summary(complaint, old.docket, decision, posts.get(old.complaint_id))
                    enqueue(session, self._intents(complaint, summary, new, "reassign", now), now=now)
                audit(
                    session,
                    "complaint.reassigned",
                    "complaint",
                    old.complaint_id,
                    at=now,
                    docket=old.docket,
                    from_officer=old.officer_id,
                    to_officer=new.officer_id if new else None,
                    rule=decision.rule,
                )
                moved += 1
        return moved


def _claim_new(session: Session, limit: int) -> list[Complaint]:
    statement = (
        select(Complaint)
        .where(Complaint.status == "new")
        .order_by(col(Complaint.is_emergency).desc(), col(Complaint.created_at), col(Complaint.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(statement).all())


def _first_posts(session: Session, complaint_ids: Sequence[int]) -> tuple[dict[int, Mention], dict[int, int]]:
    """The first post of each complaint (its text and link go into the messages), and how many people
    reported it: the authors of its posts other than their follow-ups (at least one). One query."""
    posts: dict[int, Mention] = {}
    authors: dict[int, set[tuple[str, str | None]]] = {}
    if complaint_ids:
        rows = session.exec(
            select(Mention)
            .where(col(Mention.complaint_id).in_(list(complaint_ids)))
            .order_by(sa.desc(col(Mention.created_at)), sa.desc(col(Mention.id)))
        ).all()
        for mention in rows:  # newest first: the oldest one wins
            assert mention.complaint_id is not None
            posts[mention.complaint_id] = mention
            if mention.joined_as != "followup":
                authors.setdefault(mention.complaint_id, set()).add((mention.platform, mention.author_id))
    return posts, {case_id: max(1, len(found)) for case_id, found in authors.items()}


def _facts(complaint: Complaint, posts: Mapping[int, Mention], place_station: PlaceStation | None) -> CaseFacts:
    assert complaint.id is not None
    post = posts.get(complaint.id)
    station_id = complaint.station_id
    if station_id is None and complaint.is_emergency and complaint.category in _NO_LAYER and place_station:
        station_id = _station_of_place(complaint, post, place_station)
    return CaseFacts(
        complaint.id,
        complaint.category,
        station_id,
        complaint.is_emergency,
        complaint.is_vip,
        post.text if post is not None else "",
        is_misconduct=complaint.is_misconduct,
        confidence=complaint.confidence,
    )


def _station_of_place(complaint: Complaint, post: Mention | None, place_station: PlaceStation) -> str | None:
    """The law-and-order station of the post's own coordinates, else of the place its text names; None when
    neither is known or the lookup fails (the case then goes to the desk, whose officers are told at once)."""
    points = [(post.lat, post.lon)] if post is not None else []
    for lat, lon in [*points, (complaint.place_lat, complaint.place_lon)]:
        if lat is None or lon is None:
            continue
        try:
            station = place_station(lat, lon)
        except Exception:  # a bad point affects only its own case (DESIGN invariant 6)
            logger.exception("station lookup failed for complaint %s", complaint.id)
            return None
        if station is not None:
            return station
    return None
