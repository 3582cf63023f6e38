"""Digest mode end to end: routed on real storage, sent through Apprise to real local HTTP receivers.
An officer in digest mode gets one message per window for non-emergencies and each emergency at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.routing import OutboxMessage
from models.secret import Secret
from models.tables import Complaint
from notify.sender import AppriseSender
from notify.stage import NotifyStage
from routing.people import Organisation
from routing.stage import RouteStage
from sandbox.receiver import NotificationReceiver
from tests.builders import make_org
from tests.integration.test_notify_delivery import (
    NOW,  # 12:00 in Bengaluru: the 60-minute window ends at 13:00, i.e. NOW + 60 min
    SETTINGS,
    HttpReceiver,
    add_complaint,
    context,
    http_receiver,  # noqa: F401 (a fixture)
)

WINDOW_END = NOW + timedelta(minutes=60)


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    started = NotificationReceiver().start()
    yield started
    started.stop()


def digest_org(urls: dict[str, str], digest: dict[str, int]) -> Organisation:
    """The small force of the rules tests: L3-DUTY holds every l3 case around the clock, ACP2 supervises."""
    base = make_org()
    return make_org(
        officers=[
            replace(o, channels=(Secret(urls[o.id]),) if o.id in urls else (), digest_every_min=digest.get(o.id, 0))
            for o in base.officers.values()
        ]
    )


def dockets(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as session:
        return {c.id: c.docket for c in session.exec(select(Complaint)).all() if c.id and c.docket}


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]


def bodies(receiver: NotificationReceiver, officer: str) -> list[dict[str, str]]:
    return [r["body"] for r in receiver.received if r["officer"] == officer]


def test_non_emergencies_wait_for_the_window_and_go_as_one_message_while_emergencies_go_at_once(
    engine: Engine, receiver: NotificationReceiver
) -> None:
    urls = {o: f"{receiver.url}/{o}" for o in ("L3-DUTY", "ACP2")}
    org = digest_org(urls, {"L3-DUTY": 60})
    route, notify = RouteStage(context(org)), NotifyStage(org, SETTINGS, sender=AppriseSender())
    thefts = [add_complaint(engine, category="theft", station="l3") for _ in range(2)]
    emergency = add_complaint(engine, category="violence", station="l3", emergency=True)
    route.run(engine, NOW)

    at_once = notify.run(engine, NOW)
    later = NOW + timedelta(minutes=20)
    thefts.append(add_complaint(engine, category="theft", station="l3"))
    route.run(engine, later)  # the same window
    waiting = [notify.run(engine, t)["notified"] for t in (later, WINDOW_END - timedelta(seconds=1))]
    at_window_end = notify.run(engine, WINDOW_END)

    number = dockets(engine)
    assert at_once["notified"] == 2 and waiting == [0, 0] and at_window_end["notified"] == 3
    [copy] = bodies(receiver, "ACP2")  # the supervisor's copy of the emergency, not in anyone's digest
    assert copy["title"].startswith(f"[{number[emergency]}] EMERGENCY")
    first, digest = bodies(receiver, "L3-DUTY")
    assert first["title"].startswith(f"[{number[emergency]}] EMERGENCY")
    assert digest["title"].startswith("3 cases for you: ")
    for complaint_id in thefts:
        assert f"Docket: {number[complaint_id]}\n" in digest["message"]
    assert f"Docket: {number[emergency]}\n" not in digest["message"]
    assert {m.status for m in outbox(engine)} == {"sent"} and len(outbox(engine)) == 5

    next_window = WINDOW_END + timedelta(minutes=5)  # 13:05: due at 14:00
    alone = add_complaint(engine, category="theft", station="l3")
    route.run(engine, next_window)
    assert notify.run(engine, next_window + timedelta(minutes=54))["notified"] == 0
    assert notify.run(engine, next_window + timedelta(minutes=55))["notified"] == 1
    *_, single = bodies(receiver, "L3-DUTY")
    assert single["title"].startswith(f"[{dockets(engine)[alone]}] Theft")  # a digest of one is sent as is
    assert receiver.count() == 4


def test_a_refused_digest_is_retried_whole_and_nothing_is_sent_twice(engine: Engine, http_receiver: HttpReceiver) -> None:  # noqa: F811
    org = digest_org({"L3-DUTY": http_receiver.url("l3-duty")}, {"L3-DUTY": 60})
    http_receiver.failures_left["l3-duty"] = 1
    for _ in range(2):
        add_complaint(engine, category="theft", station="l3")
    RouteStage(context(org)).run(engine, NOW)
    notify = NotifyStage(org, SETTINGS, sender=AppriseSender())

    refused = notify.run(engine, WINDOW_END)
    retried = notify.run(engine, WINDOW_END + timedelta(seconds=30))  # the first backoff
    again = notify.run(engine, WINDOW_END + timedelta(hours=1))

    assert refused["notify_retrying"] == 2 and retried["notified"] == 2 and again["notified"] == 0
    assert http_receiver.attempts == ["/l3-duty", "/l3-duty"]
    [digest] = http_receiver.accepted("l3-duty")
    assert digest["title"].startswith("2 cases for you: ")
    assert [(m.status, m.attempts) for m in outbox(engine)] == [("sent", 2), ("sent", 2)]


def test_a_window_larger_than_a_batch_still_goes_as_one_message(engine: Engine, receiver: NotificationReceiver) -> None:
    urls = {o: f"{receiver.url}/{o}" for o in ("L3-DUTY", "L2-HEAD")}
    org = digest_org(urls, {"L3-DUTY": 60})
    for station in ("l3", "l2", "l3", "l3", "l2", "l3", "l3"):
        add_complaint(engine, category="theft", station=station)
    RouteStage(context(org)).run(engine, NOW)

    stage = NotifyStage(org, replace(SETTINGS, batch_size=2), sender=AppriseSender())  # two sends per run
    first, second = stage.run(engine, WINDOW_END), stage.run(engine, WINDOW_END)

    assert first["notified"] + second["notified"] == 7
    [digest] = bodies(receiver, "L3-DUTY")
    assert digest["title"].startswith("5 cases for you: ") and digest["message"].count("Docket: ") == 5
    assert len(bodies(receiver, "L2-HEAD")) == 2  # no digest for them: each message at once
