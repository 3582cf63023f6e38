"""The notification stage of the loop: drains due outbox messages through a :class:`Sender`.

Each send (one message, or one officer's digest) is claimed (marked ``sending``) and committed just before it
is made, then marked ``sent`` or scheduled again with backoff; on PostgreSQL ``concurrency`` senders do this
side by side (each send still claimed on its own, so a crash leaves at most one ``sending`` per sender); after ``max_attempts`` it is ``failed`` and the social-media desk
gets a message saying so (a failed desk alert is only logged and audited, never alerted on again).
See :mod:`notify.outbox` for what happens to a message interrupted by a crash mid-send. An officer in
digest mode gets the messages due for one channel in one send (:mod:`notify.digest`); each message
keeps its own row, attempts and outcome.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import session_scope
from models.mentions import audit
from models.outbox import (
    DIGEST_PURPOSES,
    EMERGENCY_PRIORITY,
    Claimed,
    Intent,
    claim_due,
    claim_due_for,
    enqueue,
    fail_interrupted,
    is_digestible,
    mark_attempt_failed,
    mark_sent,
)
from models.tables import Complaint
from notify.digest import MAX_DIGEST_MESSAGES
from notify.directory import Directory
from notify.messages import desk_alert_message, digest_message
from notify.sender import AppriseSender, Sender, scheme_of
from notify.settings import NotifySettings, redirect_target

logger = logging.getLogger(__name__)
NOT_CONFIGURED = "officer or channel no longer configured"


class NotifyStage:
    name = "notify"

    def __init__(self, org: Directory, settings: NotifySettings, *, sender: Sender | None = None) -> None:
        self._org = org
        self._settings = settings
        self._sender: Sender = sender if sender is not None else AppriseSender()

    def run(self, engine: Engine, now: datetime) -> dict[str, int]:
        counts = {"notified": 0, "notify_failed": 0, "notify_retrying": 0}  # messages (outbox rows), not sends
        with session_scope(engine) as session:
            for message in fail_interrupted(session, now=now, timeout_s=self._settings.sending_timeout_s):
                logger.warning("outbox %s (%s) was interrupted mid-send; not resent", message.id, message.purpose)
                self._failed_for_good(session, message, "interrupted while sending", now)
                counts["notify_failed"] += 1
        # SQLite has one writer and no SKIP LOCKED: one sender there; PostgreSQL: a few at once, each claiming
        # its own next send just before it makes it
        senders = 1 if engine.dialect.name == "sqlite" else self._settings.concurrency
        budget = _Budget(self._settings.batch_size)  # the rest wait for the next run, at once when this one was full
        if senders == 1:
            self._send_while_due(engine, now, budget, counts)
            return counts
        with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="notify") as pool:
            for future in [pool.submit(self._send_while_due, engine, now, budget, counts) for _ in range(senders)]:
                future.result()
        return counts

    def _send_while_due(self, engine: Engine, now: datetime, budget: _Budget, counts: dict[str, int]) -> None:
        """One sender: claim the next send, make it, record it; until nothing is due or the budget is spent.
        A sender that raises stops the others claiming more (each ends the send it is making)."""
        try:
            while budget.take():
                with session_scope(engine) as session:  # one send claimed and committed before it is made
                    send = self._claim_one_send(session, now)
                if not send:
                    return
                is_sent, error = self._deliver(send)
                with session_scope(engine) as session:
                    outcomes = [self._record(session, message, is_sent, error, now) for message in send]
                budget.add(counts, outcomes)
        except BaseException:
            budget.spend_all()
            raise

    def _digest_every_min(self, officer_id: str) -> int:
        officer = self._org.officers.get(officer_id)
        return officer.digest_every_min if officer is not None else 0

    def _claim_one_send(self, session: Session, now: datetime) -> list[Claimed]:
        """The next due message (highest priority first), and, when its officer takes digests, the rest of that
        channel's due digest messages with it: one send. Claiming one send at a time means a crash leaves at
        most this one ``sending``, never a whole batch that nobody will ever send."""
        send = claim_due(session, now=now, limit=1)
        if not send:
            return []
        first = send[0]
        if is_digestible(purpose=first.purpose, priority=first.priority, every_min=self._digest_every_min(first.officer_id)):
            send += claim_due_for(
                session,
                officer_id=first.officer_id,
                channel_index=first.channel_index,
                purposes=DIGEST_PURPOSES,
                below_priority=EMERGENCY_PRIORITY,
                now=now,
                limit=MAX_DIGEST_MESSAGES - 1,
            )
        return send

    def _record(self, session: Session, message: Claimed, is_sent: bool, error: str, now: datetime) -> str:
        """Mark the message sent, or due again, or failed for good (the desk told); the count it adds to."""
        if is_sent:
            mark_sent(session, message.id, now=now)
            audit(
                session,
                "notify.sent",
                "outbox",
                message.id,
                at=now,
                officer=message.officer_id,
                complaint=message.complaint_id,
                purpose=message.purpose,
            )
            return "notified"
        delay_s = retry_delay_s(
            message.attempts, initial_s=self._settings.backoff_initial_s, max_s=self._settings.backoff_max_s
        )
        max_attempts = self._settings.max_attempts if error != NOT_CONFIGURED else message.attempts
        if mark_attempt_failed(session, message, error, now=now, max_attempts=max_attempts, delay_s=delay_s):
            self._failed_for_good(session, message, error, now)
            return "notify_failed"
        return "notify_retrying"

    def _deliver(self, send: Sequence[Claimed]) -> tuple[bool, str]:
        """Send one message, or several to one officer's channel as one digest."""
        first = send[0]
        officer = self._org.officers.get(first.officer_id)
        if officer is None or first.channel_index >= len(officer.channels):
            logger.warning(
                "outbox %s: officer %s channel %d is no longer configured",
                first.id,
                first.officer_id,
                first.channel_index,
            )
            return False, NOT_CONFIGURED
        subject, body = first.subject, first.body
        if len(send) > 1:
            subject, body = digest_message(f"{officer.rank} {officer.name}", [(m.subject, m.body) for m in send])
        redirect = self._settings.redirect_url
        url = redirect_target(redirect, officer.id) if redirect else officer.channels[first.channel_index].reveal()
        try:
            is_sent = self._sender.send(url, subject, body)
        except Exception as exc:  # a sender bug must cost this message an attempt, not stop the batch
            logger.exception("outbox %s: sending raised", first.id)
            return False, f"sender raised {type(exc).__name__}"
        logger.info(
            "notify %s via %s:// (%s, attempt %d): %s",
            first.officer_id,
            scheme_of(url),
            f"digest of {len(send)}" if len(send) > 1 else first.purpose,
            first.attempts,
            "sent" if is_sent else "refused",
        )
        return is_sent, "" if is_sent else f"the {scheme_of(url)} service refused or could not be reached"

    def _failed_for_good(self, session: Session, message: Claimed, error: str, now: datetime) -> None:
        audit(
            session,
            "notify.failed",
            "outbox",
            message.id,
            at=now,
            officer=message.officer_id,
            complaint=message.complaint_id,
            purpose=message.purpose,
            attempts=message.attempts,
            error=error,
        )
        if message.purpose == "desk_alert":
            logger.error("desk alert %s could not be delivered either: %s", message.id, error)
            return
        complaint = session.get(Complaint, message.complaint_id) if message.complaint_id is not None else None
        docket = complaint.docket if complaint is not None else None
        officer = self._org.officers.get(message.officer_id)
        name = officer.name if officer is not None else message.officer_id
        channel = "?"
        if officer is not None and message.channel_index < len(officer.channels):
            channel = scheme_of(officer.channels[message.channel_index].reveal())
        case_url = f"{self._settings.dashboard_base_url.rstrip('/')}/cases/{docket}" if docket else None
        subject, body = desk_alert_message(
            docket=docket,
            officer_id=message.officer_id,
            officer_name=name,
            channel=channel,
            error=error,
            case_url=case_url,
        )
        intents = [
            Intent(
                f"desk_alert:{message.id}:{desk.id}:{index}",
                "desk_alert",
                message.complaint_id,
                desk.id,
                index,
                subject,
                body,
                priority=1,
            )
            for desk in self._org.desk_officers()
            for index in range(len(desk.channels))
        ]
        enqueue(session, intents, now=now)


class _Budget:
    """How many sends a run may still make, and its counts, shared by the run's senders."""

    def __init__(self, sends: int) -> None:
        self._left = sends
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def spend_all(self) -> None:
        with self._lock:
            self._left = 0

    def add(self, counts: dict[str, int], outcomes: Sequence[str]) -> None:
        with self._lock:
            for outcome in outcomes:
                counts[outcome] += 1


def retry_delay_s(attempts: int, *, initial_s: float, max_s: float) -> float:
    """Exponential backoff: ``initial_s`` after the first failure, doubling, capped at ``max_s``."""
    return float(min(max_s, initial_s * 2 ** max(0, attempts - 1)))
