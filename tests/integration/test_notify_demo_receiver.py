"""The demo's notification path: the outbox redirected to one local receiver, one URL path per officer,
each message kept in the receiver's JSONL file with the officer it was for."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.routing import OutboxMessage
from models.tables import Complaint
from notify.sender import AppriseSender
from notify.settings import NotifySettings
from notify.stage import NotifyStage
from routing.stage import RouteStage
from sandbox.receiver import NotificationReceiver
from tests.integration.test_notify_delivery import NOW, add_complaint, context, org_with_channels


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[NotificationReceiver]:
    started = NotificationReceiver(record_path=tmp_path / "out" / "notifications.jsonl").start()
    yield started
    started.stop()


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def http_url(receiver: NotificationReceiver, path: str) -> str:
    return receiver.url.replace("json://", "http://").removesuffix("/notify") + path


def test_each_message_reaches_the_receiver_under_its_officer_and_is_written_once(
    engine: Engine, receiver: NotificationReceiver
) -> None:
    # every officer's own address is a closed port: a message that is not redirected is not delivered
    org = org_with_channels({o: ["json://127.0.0.1:9/own"] for o in ("L1-A", "L1-B", "ACP1", "ACP2", "TS-DAY", "TDCP")})
    add_complaint(engine, category="theft")
    add_complaint(engine, category="violence", emergency=True)  # the supervisor (ACP1) is copied
    add_complaint(engine, category="officer_misconduct", station="l3")  # to ACP2, never l3's own officers
    add_complaint(engine, category="traffic_congestion", station="ts", vip=True)  # the DCP (TDCP) is copied
    RouteStage(context(org)).run(engine, NOW)
    stage = NotifyStage(org, NotifySettings(redirect_url=receiver.officer_url), sender=AppriseSender())

    counts = stage.run(engine, NOW)
    again = stage.run(engine, NOW)

    with session_scope(engine) as session:
        dockets = {c.id: c.docket for c in session.exec(select(Complaint)).all()}
        rows = session.exec(select(OutboxMessage)).all()
        expected = Counter((m.officer_id, dockets[m.complaint_id]) for m in rows if m.complaint_id is not None)
    assert counts == {"notified": 6, "notify_failed": 0, "notify_retrying": 0} and again["notified"] == 0
    assert receiver.record_path is not None
    lines = read_lines(receiver.record_path)
    assert Counter((line["officer"], line["body"]["title"].split("]")[0].lstrip("[")) for line in lines) == expected
    assert {line["officer"] for line in lines} == {"L1-A", "ACP1", "ACP2", "TS-DAY", "TDCP"} | {"L1-B"}
    for line in lines:
        assert line["path"] == f"/notify/{line['officer']}"
        assert line["body"]["message"].startswith(f"PSI Officer {line['officer']}: ")  # addressed to that officer
    assert receiver.count() == len(lines) == 6


def test_the_file_starts_afresh_and_keeps_any_post_even_without_an_officer(tmp_path: Path) -> None:
    path = tmp_path / "notifications.jsonl"
    path.write_text('{"left over": "from an earlier run"}\n', encoding="utf-8")
    receiver = NotificationReceiver(record_path=path).start()
    try:
        assert path.read_text(encoding="utf-8") == ""
        requests.post(http_url(receiver, "/notify/KA%2F07"), json={"title": "t", "message": "ಕನ್ನಡ"}, timeout=5)
        requests.post(http_url(receiver, "/bench"), data=b"not json", timeout=5)
        lines = read_lines(path)  # written before the sender got its 200
    finally:
        receiver.stop()
    assert [(line["path"], line["officer"]) for line in lines] == [("/notify/KA%2F07", "KA/07"), ("/bench", None)]
    assert lines[0]["body"] == {"title": "t", "message": "ಕನ್ನಡ"} and lines[1]["body"] == {"raw": "not json"}
    assert receiver.count() == 2


def test_an_unwritable_file_is_an_error_at_start_and_frees_the_port(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    receiver = NotificationReceiver(record_path=blocker / "notifications.jsonl")
    with pytest.raises(OSError):
        receiver.start()
    with pytest.raises(requests.ConnectionError):
        requests.post(http_url(receiver, "/notify/X"), json={}, timeout=2)
