"""Messages from the tracker to officers (a follow-up post, a reopen, a reply that could not be posted),
through the notification outbox: one message per channel of each officer, each sent once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from models.outbox import EMERGENCY_PRIORITY, Intent, enqueue
from monitor.followup.people import People


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
