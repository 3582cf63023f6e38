"""The officers' notification receiver down for an hour of simulated time (connection refused for half an hour,
then answering 500), then back, while cases keep coming, on SQLite and PostgreSQL.

The notify stage's policy (notify/settings.py, config.toml ``[notify]``): a failed send is tried again after
``backoff_initial_s``, doubling up to ``backoff_max_s``; after ``max_attempts`` the message is failed and the desk
is told. So each message ends one of two ways, decided by when its attempts fell: delivered exactly once (its
attempts reached the recovery), or failed after exactly ``max_attempts`` with one desk alert delivered. The test
works out which for every message from the policy alone and holds the stage to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from dashboard.health import read_health
from models.db import session_scope
from models.routing import OutboxMessage
from notify.sender import AppriseSender
from notify.settings import NotifySettings
from notify.stage import NotifyStage, retry_delay_s
from routing.stage import RouteStage
from tests.e2e.sim_bot import Receiver
from tests.integration.test_notify_delivery import NOW, add_complaint, context, org_with_channels
from tests.invariants import notified_once

pytestmark = pytest.mark.slow
POLICY = NotifySettings()  # the deployment's [notify] values are these defaults (config.toml)
TICK_S = 60  # the stage's turn, in simulated time
REFUSED_MIN, FAILING_MIN, AFTER_MIN = 30, 30, 12  # connection refused, then 500, then back (the longest wait is 8 min)
DESK = "DESK1"


@dataclass
class Receivers:
    officers: Receiver
    desk: Receiver

    def delivered(self) -> list[dict[str, object]]:
        return [*self.officers.delivered(), *self.desk.delivered()]


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    officers, desk = Receiver().start(), Receiver().start()
    yield Receivers(officers, desk)
    officers.stop()
    desk.stop()


def expected_attempts(first_at: datetime, recovered_at: datetime) -> tuple[str, int]:
    """What the policy says of a message first tried at ``first_at`` with the stage's turn every ``TICK_S``: sent
    at the first attempt on or after ``recovered_at``, or failed after ``max_attempts`` before it."""
    at, attempts = first_at, 1
    while at < recovered_at:
        if attempts == POLICY.max_attempts:
            return "failed", attempts
        due = at + timedelta(seconds=retry_delay_s(attempts, initial_s=POLICY.backoff_initial_s,
                                                   max_s=POLICY.backoff_max_s))
        turns = -(-(due - NOW).total_seconds() // TICK_S)  # the first turn at or after the due time
        at, attempts = NOW + timedelta(seconds=turns * TICK_S), attempts + 1
    return "sent", attempts


OFFICERS = ("CP", DESK, "DCP", "ACP1", "ACP2", "TDCP", "TACP", "TS-HEAD", "TS-DAY", "TS-NIGHT", "L1-HEAD", "L1-A",
            "L1-B", "L1-NIGHT", "L2-HEAD", "L3-HEAD", "L3-DUTY")
RECOVERED_AT = NOW + timedelta(minutes=REFUSED_MIN + FAILING_MIN)


def through_the_outage(engine: Engine, receivers: Receivers, *, is_desk_down: bool) -> dict[int, datetime]:
    """Cases every 5 minutes through the outage of the officers' receiver (and the desk's, ``is_desk_down``),
    routing and notify taking their turn every minute; when each outbox row was first tried."""
    down = [receivers.officers, *([receivers.desk] if is_desk_down else [])]
    org = org_with_channels({o: [(receivers.desk if o == DESK else receivers.officers).url(o)] for o in OFFICERS})
    route, notify = RouteStage(context(org)), NotifyStage(org, POLICY, sender=AppriseSender())
    for receiver in down:
        receiver.stop()  # connection refused
    first_tried: dict[int, datetime] = {}
    for minute in range(REFUSED_MIN + FAILING_MIN + AFTER_MIN):
        now = NOW + timedelta(minutes=minute)
        for receiver in down:
            if minute == REFUSED_MIN:
                receiver.failing_status = 500
                receiver.start()
            if now == RECOVERED_AT:
                receiver.failing_status = None
        if minute < REFUSED_MIN + FAILING_MIN and minute % 5 == 0:  # cases keep coming all through the outage
            add_complaint(engine, station="l1" if minute % 10 else "l3", emergency=minute % 15 == 0)
        route.run(engine, now)
        notify.run(engine, now)
        for message in outbox(engine):
            if message.attempts and message.id not in first_tried:
                first_tried[message.id or 0] = now
    return first_tried


def held_to_the_policy(messages: list[OutboxMessage], first_tried: dict[int, datetime], got: Counter[str]) -> Counter[str]:
    """Each message's status and attempts are what the policy says for its attempt times, and it was delivered
    once if sent, never if failed; how many ended each way."""
    outcomes: Counter[str] = Counter()
    for message in messages:
        first_at = first_tried[message.id or 0]
        status, attempts = expected_attempts(first_at, RECOVERED_AT)
        outcomes[status] += 1
        where = f"outbox {message.id} ({message.purpose} to {message.officer_id}, first tried {first_at:%H:%M})"
        assert (message.status, message.attempts) == (status, attempts), where
        assert got[message.body] == (1 if status == "sent" else 0), where
        if status == "failed":
            assert message.last_error and "json service refused or could not be reached" in message.last_error
    assert outcomes["sent"] and outcomes["failed"], f"the hour must fail some messages and keep others: {outcomes}"
    return outcomes


def test_an_hour_without_the_receiver_ends_each_message_delivered_once_or_failed_with_the_desk_told(
    engine: Engine, receivers: Receivers
) -> None:
    first_tried = through_the_outage(engine, receivers, is_desk_down=False)
    messages = [m for m in outbox(engine) if m.purpose != "desk_alert"]
    assert len(messages) >= 12 and set(first_tried) >= {m.id for m in messages}
    got = Counter(str(body["message"]) for _, body in receivers.officers.received)
    outcomes = held_to_the_policy(messages, first_tried, got)
    desk_got = [str(body["message"]) for _, body in receivers.desk.received]
    for message in messages:
        if message.status == "failed":
            assert [m for m in desk_got if f"Officer {message.officer_id}" in m], f"outbox {message.id}: desk not told"
    alerts = [m for m in outbox(engine) if m.purpose == "desk_alert"]
    assert len(alerts) == outcomes["failed"] == len(desk_got) and all(a.status == "sent" for a in alerts)
    assert receivers.officers.attempts >= outcomes["sent"], "the 500s were real attempts"
    assert notified_once(engine, receivers.delivered()) == []


def test_with_the_desk_down_too_its_alerts_fail_the_same_way_and_the_health_page_counts_every_failure(
    engine: Engine, receivers: Receivers, caplog: pytest.LogCaptureFixture
) -> None:
    """One receiver for everyone (as with NOTIFY_REDIRECT_URL): the desk alerts meet the same outage. The policy:
    a desk alert is tried like any message; one that fails for good is logged and audited, never alerted on again
    (no alert about an alert); what tells a person then is /health ("N notifications failed")."""
    first_tried = through_the_outage(engine, receivers, is_desk_down=True)
    rows = outbox(engine)
    got = Counter(str(body["message"]) for _, body in [*receivers.officers.received, *receivers.desk.received])
    messages = [m for m in rows if m.purpose != "desk_alert"]
    alerts = [m for m in rows if m.purpose == "desk_alert"]
    outcomes = held_to_the_policy(messages, first_tried, got)
    assert len(alerts) == outcomes["failed"], "one desk alert per failed message, none about a failed alert"
    alert_outcomes = held_to_the_policy(alerts, first_tried, got)
    assert caplog.text.count("could not be delivered either") == alert_outcomes["failed"]
    with session_scope(engine) as session:
        health = read_health(session, now=RECOVERED_AT + timedelta(minutes=AFTER_MIN))
    failed = outcomes["failed"] + alert_outcomes["failed"]
    assert f"{failed} notifications failed in the last 24 hours" in health.problems
    assert notified_once(engine, receivers.delivered()) == []


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]
