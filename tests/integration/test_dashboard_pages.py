"""The signed-in pages on SQLite and PostgreSQL: each role sees only the cases it may (another's case is the
same 404 as no case at all), post text is inert on every page, and no page refers to another site."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from models.db import session_scope
from models.mentions import ensure_account
from models.routing import Assignment
from models.tables import Complaint, Mention
from tests.integration.test_dashboard_auth import NOW, add_people, make_app, signed_in
from tests.unit.test_dashboard_static import outside_references

HOSTILE_TEXT = (
    "<script>alert('x')</script> <img src=x onerror=alert(1)> <a href=\"javascript:alert(1)\">see</a> "
    "\u202egnp.exe\u202c &amp; \u2066isolate"
)


def add_case(
    engine: Engine,
    docket: str,
    *,
    station: str | None,
    holder: str | None = None,
    text: str = "Chain snatching near the bus stop",
    confidence: float = 0.9,
    role: str = "assignee",
    status: str = "assigned",
    **extra: Any,
) -> int:
    """A case with one post and, with ``holder``, an open assignment of that officer."""
    with session_scope(engine) as session:
        account_id = ensure_account(
            session, platform="x", key="blrcitypolice", external_user_id="1", label="@blrcitypolice"
        )
        complaint = Complaint(
            docket=docket,
            category="theft",
            confidence=confidence,
            station_id=station,
            status=status,
            created_at=NOW,
            **extra,
        )
        session.add(complaint)
        session.flush()
        assert complaint.id is not None
        session.add(
            Mention(
                platform="x",
                external_id=f"19{complaint.id:08d}",
                account_id=account_id,
                text=text,
                created_at=NOW,
                author_handle="citizen_1",
                complaint_id=complaint.id,
            )
        )
        if holder is not None or role == "desk":
            session.add(
                Assignment(
                    complaint_id=complaint.id,
                    docket=docket,
                    officer_id=holder,
                    unit_id=station,
                    station_id=station,
                    role=role,
                    rule="on_duty_least_loaded",
                    assigned_at=NOW,
                    act_by=NOW + timedelta(hours=24),
                )
            )
        return complaint.id


def seed(engine: Engine) -> None:
    """Two stations under unit d1 (s1, s2) and one outside it (s9); L1-A holds one case in s1."""
    add_people(engine, officer_id="L1-A", unit_id="d1")
    add_case(engine, "BLR-2026-000001", station="s1", holder="L1-A", text=HOSTILE_TEXT)
    add_case(engine, "BLR-2026-000002", station="s1", holder="L1-B")  # the same station, another officer
    add_case(engine, "BLR-2026-000003", station="s9", holder="L9-A")
    add_case(engine, "BLR-2026-000004", station=None, role="desk", status="desk", confidence=0.31)


def units_under(unit: str) -> set[str]:
    return {"d1": {"s1", "s2"}}.get(unit, set())


def dockets_on(page: str) -> set[str]:
    return set(re.findall(r"BLR-2026-\d{6}", page))


def test_an_officer_sees_the_case_they_hold_and_another_officers_case_is_the_same_404_as_none(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, units_under=units_under), "officer")

    mine = client.get("/cases/BLR-2026-000001")
    theirs = client.get("/cases/BLR-2026-000002")
    nonexistent = client.get("/cases/BLR-2026-999999")

    assert mine.status_code == 200 and "you hold this case" in mine.text
    assert theirs.status_code == nonexistent.status_code == 404
    assert theirs.text == nonexistent.text and "BLR-2026-000002" not in theirs.text
    assert dockets_on(client.get("/queue").text) == {"BLR-2026-000001"}
    assert client.get("/leaderboard").status_code == client.get("/triage").status_code == 403


def test_a_supervisor_sees_the_stations_under_their_unit(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, units_under=units_under), "supervisor")

    assert dockets_on(client.get("/queue").text) == {"BLR-2026-000001", "BLR-2026-000002"}
    assert client.get("/cases/BLR-2026-000003").status_code == 404
    assert client.get("/cases/BLR-2026-000002").status_code == 200


@pytest.mark.parametrize("role", ["desk", "commissioner"])
def test_the_desk_and_the_commissioner_see_every_case_and_triage_lists_what_needs_the_desk(
    engine: Engine, role: str
) -> None:
    seed(engine)
    client = signed_in(make_app(engine, units_under=units_under), role)

    assert len(dockets_on(client.get("/queue").text)) == 4
    triage = client.get("/triage").text
    assert dockets_on(triage) == {"BLR-2026-000004"}
    assert "no station" in triage and "low confidence (0.31)" in triage and "at the desk" in triage
    board = client.get("/leaderboard").text
    assert re.search(r'<tr data-key="s1">', board) and re.search(r'data-measure="assigned"><a [^>]*>2</a>', board)


def test_post_text_is_inert_on_every_page(engine: Engine) -> None:
    seed(engine)
    client = signed_in(make_app(engine, units_under=units_under), "desk")

    for path in ("/cases/BLR-2026-000001", "/queue"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page and 'href="javascript:' not in page, path
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page, path
        assert 'class="post-text" dir="auto"' in page, path  # isolated from the page around it
        assert "[RLO]gnp.exe[PDF]" in page and "\u202e" not in page, path  # the trick shown, not played


def test_no_page_refers_to_another_site(engine: Engine) -> None:
    seed(engine)
    app = make_app(engine, units_under=units_under)
    pages = {"/login": TestClient(app).get("/login").text}
    for role in ("commissioner", "desk", "officer", "supervisor"):
        client = signed_in(app, role)
        for path in ("/leaderboard", "/queue", "/triage", "/health", "/cases/BLR-2026-000001", "/cases/NOPE"):
            pages[f"{role} {path}"] = client.get(path).text

    outside = {name: found for name, page in pages.items() if (found := outside_references(page))}
    assert outside == {}
    assert all("/static/vendor/htmx-2.0.11.min.js" in page for page in pages.values())
