"""The officer's queue on SQLite and PostgreSQL: my open cases, overdue first and then by the nearest
deadline, each deadline in the deployment's zone; one tap acknowledges; the other roles see the cases
they may see with the same columns."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.mentions import ensure_account
from models.routing import Assignment
from models.tables import Complaint, Mention
from tests.integration.test_dashboard_case_page import (
    audit_of,
    dashboard,
    post_form,
    signed_in_as,
    status_of,
)
from tests.integration.test_notify_delivery import NOW

HOUR = timedelta(hours=1)


def held_case(
    engine: Engine,
    docket: str,
    *,
    officer: str = "L1-A",
    station: str = "l1",
    ack_by: datetime | None,
    act_by: datetime | None,
    status: str = "assigned",
    acknowledged_at: datetime | None = None,
    text: str | None = None,
) -> None:
    """A case that ``officer`` holds, due by these deadlines."""
    with session_scope(engine) as session:
        account_id = ensure_account(session, platform="x", key="blrcitypolice", external_user_id="1", label="x")
        complaint = Complaint(
            docket=docket,
            category="theft",
            confidence=0.9,
            station_id=station,
            status=status,
            created_at=NOW - 3 * HOUR,
            acknowledged_at=acknowledged_at,
        )
        session.add(complaint)
        session.flush()
        assert complaint.id is not None
        session.add(
            Mention(
                platform="x",
                external_id=f"17{complaint.id:08d}",
                account_id=account_id,
                text=text or f"Complaint {docket}",
                created_at=NOW - 3 * HOUR,
                complaint_id=complaint.id,
            )
        )
        session.add(
            Assignment(
                complaint_id=complaint.id,
                docket=docket,
                officer_id=officer,
                unit_id=station,
                station_id=station,
                role="assignee",
                rule="on_duty_least_loaded",
                assigned_at=NOW - 3 * HOUR,
                acknowledge_by=ack_by,
                act_by=act_by,
                acknowledged_at=acknowledged_at,
            )
        )


def seed(engine: Engine) -> None:
    held_case(engine, "BLR-2026-000001", ack_by=NOW + 30 * timedelta(minutes=1), act_by=NOW + 3 * HOUR)
    held_case(
        engine,
        "BLR-2026-000002",
        ack_by=NOW - 2 * HOUR,
        act_by=NOW + 5 * HOUR,
        status="acknowledged",
        acknowledged_at=NOW - 2.5 * HOUR,
    )  # acknowledged in time: nothing overdue, acted on by NOW + 5 h
    held_case(engine, "BLR-2026-000003", ack_by=NOW - HOUR, act_by=NOW + 20 * HOUR)  # overdue by an hour
    held_case(
        engine,
        "BLR-2026-000004",
        ack_by=None,
        act_by=NOW - 10 * HOUR,
        status="acknowledged",
        acknowledged_at=NOW - 20 * HOUR,
    )  # overdue longest
    held_case(engine, "BLR-2026-000005", officer="L1-B", ack_by=NOW, act_by=NOW)  # another officer's
    held_case(engine, "BLR-2026-000006", ack_by=NOW, act_by=NOW, status="closed")  # done
    held_case(engine, "BLR-2026-000007", officer="L3-DUTY", station="l3", ack_by=NOW, act_by=NOW)  # elsewhere


def rows(page: str) -> list[str]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)


def docket_of(row: str) -> str:
    found = re.search(r"BLR-2026-\d{6}", row)
    assert found
    return found.group()


def test_my_queue_lists_my_open_cases_overdue_first_then_by_the_nearest_deadline(engine: Engine) -> None:
    seed(engine)
    client = signed_in_as(dashboard(engine), engine, "L1-A")

    page = client.get("/queue").text

    assert [docket_of(r) for r in rows(page)] == [
        "BLR-2026-000004",  # act by 10 h ago
        "BLR-2026-000003",  # acknowledge by an hour ago
        "BLR-2026-000001",  # acknowledge in 30 min
        "BLR-2026-000002",  # act in 5 h
    ]
    by_docket = {docket_of(r): r for r in rows(page)}
    overdue = by_docket["BLR-2026-000003"]
    assert "Times are IST." in page
    assert "23 Nov 11:00" in overdue and "overdue by 1 h" in overdue  # 05:30 UTC
    assert "23 Nov 12:30" in by_docket["BLR-2026-000001"] and "in 30 min" in by_docket["BLR-2026-000001"]
    assert "overdue by 10 h" in by_docket["BLR-2026-000004"]
    assert "done 23 Nov 09:30" in by_docket["BLR-2026-000002"]  # acknowledged, in time
    with_button = {d for d, r in by_docket.items() if "/acknowledge" in r}
    assert with_button == {"BLR-2026-000001", "BLR-2026-000003"}


def test_one_tap_acknowledges_and_comes_back_to_the_queue(engine: Engine) -> None:
    seed(engine)
    client = signed_in_as(dashboard(engine), engine, "L1-A")

    answer = post_form(client, "/queue", "/cases/BLR-2026-000003/acknowledge", back="/queue")

    assert answer.status_code == 303 and answer.headers["location"].startswith("/queue?")
    assert status_of(engine, "BLR-2026-000003") == "acknowledged"
    assert audit_of(engine, "BLR-2026-000003")[-1] == ("case.acknowledge", "L1-A")
    page = client.get(answer.headers["location"]).text
    assert "BLR-2026-000003 acknowledged." in page
    row = next(r for r in rows(page) if docket_of(r) == "BLR-2026-000003")
    assert "/acknowledge" not in row and "done 23 Nov 12:00" in row


def test_a_tap_without_the_forms_token_is_refused(engine: Engine) -> None:
    seed(engine)
    client = signed_in_as(dashboard(engine), engine, "L1-A")
    client.get("/queue")

    answer = client.post("/cases/BLR-2026-000003/acknowledge", data={"back": "/queue"}, follow_redirects=False)

    assert answer.status_code == 403 and status_of(engine, "BLR-2026-000003") == "assigned"


def test_a_supervisor_and_the_desk_see_the_cases_they_may_with_the_same_columns(engine: Engine) -> None:
    seed(engine)
    app = dashboard(engine)
    supervisor = signed_in_as(app, engine, "ACP1", "supervisor", unit_id="a1").get("/queue").text
    desk = signed_in_as(app, engine, "DESK1", "desk").get("/queue").text
    officer = signed_in_as(app, engine, "L1-A").get("/queue").text

    assert {docket_of(r) for r in rows(supervisor)} == {f"BLR-2026-00000{n}" for n in (1, 2, 3, 4, 5)}
    assert {docket_of(r) for r in rows(desk)} == {f"BLR-2026-00000{n}" for n in (1, 2, 3, 4, 5, 7)}
    headers = [re.findall(r'<th scope="col">([^<]*)', page) for page in (supervisor, desk, officer)]
    assert headers[0] == headers[1] == headers[2] and "Acknowledge by" in headers[0] and "Act by" in headers[0]
    assert "/acknowledge" not in supervisor and "/acknowledge" not in desk  # only the holder acknowledges
    assert "<h1>Open cases</h1>" in supervisor and "<h1>My open cases</h1>" in officer


def test_an_empty_queue_says_so(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert session.exec(select(Complaint)).first() is None
    page = signed_in_as(dashboard(engine), engine, "L1-A").get("/queue").text
    assert "Nothing open for you." in page
