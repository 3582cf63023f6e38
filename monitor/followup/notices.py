"""Messages from the tracker to officers (a follow-up post, a reopen, a reply that could not be posted),
through the notification outbox: one message per channel of each officer, each sent once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlmodel import Session, select

from models.outbox import EMERGENCY_PRIORITY, Intent, enqueue
from monitor.followup.people import People
from monitor.followup.replies import TellEvent


def tell(
    session: Session,
    people: People,
    officer_ids: Iterable[str],
    *,
    key: str,
    purpose: str,
    complaint_id: int | None,
    subject: str,
    body: str,
    now: datetime,
    is_urgent: bool = False,
) -> list[str]:
    """Enqueue the message for each active officer (``key`` names the intent; the officer and channel are
    added); the ids of the officers told."""
    told: list[str] = []
    intents: list[Intent] = []
    for officer_id in dict.fromkeys(officer_ids):
        officer = people.officers.get(officer_id)
        if officer is None or not officer.is_active:
            continue
        told.append(officer_id)
        intents += [
            Intent(
                f"{key}:{officer_id}:{index}",
                purpose,
                complaint_id,
                officer_id,
                index,
                subject[:300],
                body,
                EMERGENCY_PRIORITY if is_urgent else 1,
            )
            for index in range(len(officer.channels))
        ]
    enqueue(session, intents, now=now)
    return told


def desk_ids(people: People) -> list[str]:
    return [o.id for o in people.desk_officers()]


def supervisor_of(people: People, unit_id: str | None) -> str | None:
    """The head of the nearest unit above ``unit_id`` (the desk's when unknown)."""
    for unit in people.chain(unit_id or people.desk_unit)[1:]:
        head = people.head(unit)
        if head is not None:
            return head.id
    return None


def reply_problem_teller(people: People, dashboard_base_url: str = "") -> Callable[[Session, TellEvent], None]:
    """What the reply stage calls when a reply will not reach the citizen (not allowed, the post deleted,
    failed for good) or replies wait for the daily cap: the case's officer and the desk are told, once."""
    from models.routing import Assignment
    from models.tables import Complaint

    def told(session: Session, event: TellEvent) -> None:
        complaint = session.get(Complaint, event.complaint_id)
        docket = complaint.docket if complaint is not None else f"case {event.complaint_id}"
        holder = session.exec(
            select(Assignment.officer_id).where(
                Assignment.complaint_id == event.complaint_id,
                Assignment.role == "assignee",
                Assignment.status == "open",
            )
        ).first()
        what = str(event.kind).replace("_", " ")
        link = f"\nOpen the case: {dashboard_base_url.rstrip('/')}/cases/{docket}" if dashboard_base_url else ""
        tell(
            session,
            people,
            [*([holder] if holder and event.kind != "daily_cap" else []), *desk_ids(people)],
            key=f"reply_{event.kind}:{event.reply_id}",
            purpose="reply_problem",
            complaint_id=event.complaint_id,
            subject=f"{docket}: reply to the citizen {what}",
            body=f"The reply to the citizen in {docket} was not posted ({what}): {event.reason}. "
            f"Please answer them another way if needed.{link}",
            now=datetime.now(UTC),  # the stage passes no time: due at once either way
        )

    return told
