"""The case page through the real app on SQLite and PostgreSQL, with the real officer actions: tags, posts,
replies, notifications, assignments and the audit trail; only the buttons the viewer may press now; the
action-taken note shown masked before it is posted and posted only once confirmed; a refused action said
plainly; every form refused without its CSRF token; post text inert."""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dashboard.links import link_for
from models import users as store
from models.db import session_scope
from models.followup import Reply
from models.mentions import ensure_account
from models.routing import Assignment, OutboxMessage
from models.tables import AuditEvent, Complaint, Mention
from monitor.followup.actions import CaseActions
from monitor.followup.compose import ReplyComposer, ReplyOptions
from monitor.followup.masking import MaskingPolicy
from monitor.followup.stage import FollowupStage
from monitor.followup.templates import ReplyTemplates
from routing.stage import RouteStage
from tests.builders import BENGALURU, make_org
from tests.conftest import ROOT
from tests.integration.test_dashboard_auth import SECRET, FakeClock, hashed, make_app, sign_in
from tests.integration.test_notify_delivery import NOW, context

ORG = make_org()
COMPOSER = ReplyComposer(
    ReplyTemplates.load(ROOT / "data" / "templates" / "replies.toml"),
    MaskingPolicy().mask,
    lambda text, lang: "en",
    ReplyOptions("Bengaluru City Police"),
)
PASSWORD = "evening beat by the lake"
CSRF_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
HOSTILE_TEXT = (
    '<script>alert(1)</script> <b>bold</b> <a href="javascript:alert(2)">tap here</a> javascript:alert(3) '
    "\u202egnp.exe\u202c done"
)
NOTE = "Phone traced and returned; call 98450 12345 at the station to collect the bill."


def case_actions(engine: Engine) -> CaseActions:
    return CaseActions(engine, ORG, COMPOSER, dashboard_base_url="http://127.0.0.1:8000")


def units_under(unit_id: str) -> Collection[str]:
    return frozenset(u for u in [*ORG.stations, *ORG.offices] if unit_id in ORG.chain(u)[1:])


def dashboard(engine: Engine, *, with_actions: bool = True, clock: FakeClock | None = None) -> FastAPI:
    return make_app(
        engine,
        clock or FakeClock(NOW),
        actions=case_actions(engine) if with_actions else None,
        timezone=BENGALURU,
        units_under=units_under,
    )


def new_case(
    engine: Engine,
    text: str = "@blrcitypolice my phone was snatched near the bus stand",
    *,
    station: str = "l1",
    category: str = "theft",
    at: datetime = NOW,
    account: tuple[str, str, str] = ("x", "blrcitypolice", "1"),
    external_id: str | None = None,
) -> str:
    """A citizen's post as the classifier leaves it, routed and given its first reply; its docket."""
    platform, key, user_id = account
    with session_scope(engine) as session:
        account_id = ensure_account(session, platform=platform, key=key, external_user_id=user_id, label=key)
        complaint = Complaint(category=category, confidence=0.9, station_id=station, created_at=at)
        session.add(complaint)
        session.flush()
        count = len(session.exec(select(Mention)).all())
        session.add(
            Mention(
                platform=platform,
                external_id=external_id or f"19{count:08d}",
                account_id=account_id,
                author_id="42",
                author_handle="asha_k",
                text=text,
                created_at=at - timedelta(minutes=5),
                complaint_id=complaint.id,
                classified_at=at,
                post_category=category,
                joined_as="first",
            )
        )
        complaint_id = complaint.id
    RouteStage(context(ORG)).run(engine, at)
    FollowupStage(ORG, COMPOSER, case_actions(engine)).run(engine, at)
    with session_scope(engine) as session:
        found = session.get(Complaint, complaint_id)
        assert found is not None and found.docket is not None
        return found.docket


def holder_of(engine: Engine, docket: str) -> str:
    with session_scope(engine) as session:
        officer = session.exec(
            select(Assignment.officer_id).where(
                Assignment.docket == docket, Assignment.role == "assignee", Assignment.status == "open"
            )
        ).first()
    assert officer is not None
    return officer


def status_of(engine: Engine, docket: str) -> str:
    with session_scope(engine) as session:
        found = session.exec(select(Complaint.status).where(Complaint.docket == docket)).first()
    assert found is not None
    return found


def add_account(
    engine: Engine, username: str, role: str, *, officer_id: str | None = None, unit_id: str | None = None
) -> None:
    with session_scope(engine) as session:
        if store.find_user(session, username=username) is None:
            store.add_user(
                session,
                username=username,
                role=role,
                password_hash=hashed(PASSWORD),
                now=NOW,
                officer_id=officer_id,
                unit_id=unit_id,
            )


def signed_in_as(app: FastAPI, engine: Engine, officer_id: str, role: str = "officer", **unit: str) -> TestClient:
    """A browser signed in as the dashboard account of ``officer_id`` (made if missing)."""
    username = officer_id.lower()
    add_account(engine, username, role, officer_id=officer_id, **unit)
    client = TestClient(app)
    assert sign_in(client, username, PASSWORD).status_code == 303
    return client


def token_on(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def post_form(client: TestClient, page_path: str, action: str, **fields: str) -> Any:
    """Submit a form of ``page_path`` as a browser would: with the page's CSRF token."""
    token = token_on(client.get(page_path).text)
    return client.post(action, data={"csrftoken": token, **fields}, follow_redirects=False)


def audit_of(engine: Engine, docket: str) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        complaint_id = session.exec(select(Complaint.id).where(Complaint.docket == docket)).first()
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.entity == "complaint", AuditEvent.entity_id == str(complaint_id))
        ).all()
        return [(e.kind, e.actor) for e in sorted(rows, key=lambda e: (e.at, e.id or 0))]


def replies_of(engine: Engine, docket: str) -> list[Reply]:
    with session_scope(engine) as session:
        complaint_id = session.exec(select(Complaint.id).where(Complaint.docket == docket)).first()
        rows = list(session.exec(select(Reply).where(Reply.complaint_id == complaint_id).order_by(col(Reply.id))).all())
        for row in rows:
            session.expunge(row)
        return rows


def sections(page: str) -> list[str]:
    return re.findall(r"<h2>([^<]+)</h2>", page)


def test_the_case_page_shows_tags_posts_replies_notifications_assignments_and_the_timeline(engine: Engine) -> None:
    docket = new_case(engine)
    officer = holder_of(engine, docket)
    app = dashboard(engine)
    client = signed_in_as(app, engine, officer)
    assert post_form(client, f"/cases/{docket}", f"/cases/{docket}/acknowledge").status_code == 303

    page = client.get(f"/cases/{docket}").text

    assert sections(page) == [
        "Your actions",
        "Posts",
        "Replies to the citizen",
        "Assignments",
        "Notifications",
        "Timeline",
    ]
    assert "theft" in page and "you hold this case" in page and "Acknowledged." not in page
    assert "my phone was snatched near the bus stand" in page
    [ack] = replies_of(engine, docket)
    assert ack.kind == "acknowledgement" and ack.text.split(" Ref ")[0][:40] in page  # the reply's text
    assert "23 Nov 2026 12:00 IST" in page  # filed at NOW, in the deployment's zone
    with session_scope(engine) as session:
        subjects = [m.subject for m in session.exec(select(OutboxMessage)).all()]
    assert subjects and all(s.split(" — ")[0] in page for s in subjects)  # the officer's message, by subject
    assert "Case: http" not in page  # never a message's body: it carries the officer's own link
    timeline = page[page.index("<h2>Timeline</h2>") :]
    kinds = [e for e, _ in audit_of(engine, docket)]
    assert kinds[0] == "complaint.routed" and kinds[-1] == "case.acknowledge"
    positions = [timeline.index(f"<code>{k}</code>") for k in ("complaint.routed", "case.acknowledge")]
    assert positions == sorted(positions)  # oldest first


def test_a_refreshed_page_after_an_action_says_what_was_done_and_nothing_else(engine: Engine) -> None:
    docket = new_case(engine)
    client = signed_in_as(dashboard(engine), engine, holder_of(engine, docket))

    answer = post_form(client, f"/cases/{docket}", f"/cases/{docket}/acknowledge")

    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/cases/{docket}?done=acknowledge")
    assert "Acknowledged." in client.get(answer.headers["location"]).text
    assert "Acknowledged." not in client.get(f"/cases/{docket}?done=<script>").text


def buttons(page: str) -> set[str]:
    actions = set(re.findall(r'action="/cases/[^/"]+/([a-z/-]+)"', page))
    return actions - {"act"}  # the Confirm form appears only with a preview


def test_only_the_actions_the_viewer_may_take_now_have_buttons(engine: Engine) -> None:
    docket = new_case(engine)
    app = dashboard(engine)
    holder = signed_in_as(app, engine, holder_of(engine, docket))
    supervisor = signed_in_as(app, engine, "ACP1", "supervisor", unit_id="a1")
    desk = signed_in_as(app, engine, "DESK1", "desk")

    assert buttons(holder.get(f"/cases/{docket}").text) == {"acknowledge", "act/preview", "request-reassignment"}
    for other in (supervisor, desk):
        page = other.get(f"/cases/{docket}")
        assert page.status_code == 200 and buttons(page.text) == set()
    post_form(holder, f"/cases/{docket}", f"/cases/{docket}/acknowledge")
    assert buttons(holder.get(f"/cases/{docket}").text) == {"act/preview", "request-reassignment"}

    without = signed_in_as(dashboard(engine, with_actions=False), engine, holder_of(engine, docket))
    assert buttons(without.get(f"/cases/{docket}").text) == set()


def test_the_note_is_shown_masked_before_it_is_posted_and_posted_once_confirmed(engine: Engine) -> None:
    docket = new_case(engine)
    client = signed_in_as(dashboard(engine), engine, holder_of(engine, docket))

    preview = post_form(client, f"/cases/{docket}", f"/cases/{docket}/act/preview", note=NOTE)

    assert preview.status_code == 200
    shown = re.search(r'class="post-text masked" dir="auto">([^<]*)<', preview.text)
    assert shown is not None
    assert "98450 12345" not in shown.group(1) and "XXXXX XXX45" in shown.group(1)
    assert status_of(engine, docket) == "assigned" and len(replies_of(engine, docket)) == 1  # nothing yet
    confirm = re.search(r'<form method="post" action="/cases/[^"]+/act">(.*?)</form>', preview.text, re.S)
    assert confirm is not None
    fields = dict(re.findall(r'name="(note|seen_as)" value="([^"]*)"', confirm.group(1)))
    assert fields["note"] == NOTE.replace("'", "&#39;")

    done = client.post(
        f"/cases/{docket}/act",
        data={"csrftoken": token_on(preview.text), "note": NOTE, "seen_as": fields["seen_as"]},
        follow_redirects=False,
    )

    assert done.status_code == 303
    assert status_of(engine, docket) == "action_taken"
    action = replies_of(engine, docket)[-1]
    assert action.kind == "action_taken" and "XXXXX XXX45" in action.text and "98450" not in action.text
    page = client.get(done.headers["location"]).text
    assert "Action taken reported" in page and "action taken" in page


def test_a_note_of_several_lines_comes_back_from_the_confirm_form_as_it_was_previewed(engine: Engine) -> None:
    docket = new_case(engine)
    client = signed_in_as(dashboard(engine), engine, holder_of(engine, docket))
    typed = "Visited the bus stand.\r\nCCTV checked;\tphone traced.\x00\r\n"

    preview = post_form(client, f"/cases/{docket}", f"/cases/{docket}/act/preview", note=typed)
    fields = dict(re.findall(r'name="(note|seen_as)" value="([^"]*)"', preview.text))
    sent_back = html.unescape(fields["note"]).replace("\n", "\r\n")  # a browser sends newlines as CRLF
    done = client.post(
        f"/cases/{docket}/act",
        data={"csrftoken": token_on(preview.text), "note": sent_back, "seen_as": fields["seen_as"]},
        follow_redirects=False,
    )

    assert done.status_code == 303
    with session_scope(engine) as session:
        note = session.exec(select(Complaint.action_note).where(Complaint.docket == docket)).first()
    assert note == "Visited the bus stand.\nCCTV checked;\tphone traced."


@pytest.mark.parametrize("seen_as", ["", "forged", "previewed another note"])
def test_a_note_that_was_not_previewed_is_previewed_not_posted(engine: Engine, seen_as: str) -> None:
    docket = new_case(engine)
    client = signed_in_as(dashboard(engine), engine, holder_of(engine, docket))
    if seen_as == "previewed another note":
        other = post_form(client, f"/cases/{docket}", f"/cases/{docket}/act/preview", note="Something else")
        seen_as = re.findall(r'name="seen_as" value="([^"]*)"', other.text)[0]

    answer = post_form(client, f"/cases/{docket}", f"/cases/{docket}/act", note=NOTE, seen_as=seen_as)

    assert answer.status_code == 200 and "The citizen will read your note as" in answer.text
    assert status_of(engine, docket) == "assigned"


def test_a_refused_action_is_said_plainly_on_the_page(engine: Engine) -> None:
    docket = new_case(engine)
    client = signed_in_as(dashboard(engine), engine, holder_of(engine, docket))
    stale = client.get(f"/cases/{docket}").text  # a second tab, opened before the first acknowledged
    post_form(client, f"/cases/{docket}", f"/cases/{docket}/acknowledge")

    again = client.post(f"/cases/{docket}/acknowledge", data={"csrftoken": token_on(stale)}, follow_redirects=False)

    assert again.status_code == 409
    assert re.search(r'<p class="error" role="alert">[^<]*acknowledged: it cannot be acknowledged now</p>', again.text)
    empty = post_form(client, f"/cases/{docket}", f"/cases/{docket}/act/preview", note="   ")
    assert empty.status_code == 400 and "Write what was done" in empty.text


def test_asking_for_reassignment_needs_a_reason_and_tells_the_desk_and_the_supervisor(engine: Engine) -> None:
    docket = new_case(engine)
    officer = holder_of(engine, docket)
    client = signed_in_as(dashboard(engine), engine, officer)

    empty = post_form(client, f"/cases/{docket}", f"/cases/{docket}/request-reassignment", reason=" ")
    asked = post_form(client, f"/cases/{docket}", f"/cases/{docket}/request-reassignment", reason="On leave from today")

    assert empty.status_code == 400 and "Say why" in empty.text
    assert asked.status_code == 303
    assert audit_of(engine, docket)[-1] == ("case.request_reassignment", officer)
    with session_scope(engine) as session:
        told = {
            m.officer_id for m in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "reassign_request"))
        }
    assert told == {"DESK1", "ACP1"}


def test_an_officer_cannot_see_or_act_on_another_stations_case(engine: Engine) -> None:
    theirs = new_case(engine, station="l3")
    mine = new_case(engine)
    app = dashboard(engine)
    client = signed_in_as(app, engine, holder_of(engine, mine))
    token = token_on(client.get(f"/cases/{mine}").text)

    assert client.get(f"/cases/{theirs}").status_code == 404
    for action, fields in (
        ("acknowledge", {}),
        ("act/preview", {"note": NOTE}),
        ("request-reassignment", {"reason": "x"}),
    ):
        answer = client.post(f"/cases/{theirs}/{action}", data={"csrftoken": token, **fields}, follow_redirects=False)
        assert answer.status_code == 404, action
    assert status_of(engine, theirs) == "assigned"


def forms_on(page: str) -> list[tuple[str, dict[str, str]]]:
    """Each POST form's action and its fields other than the CSRF token."""
    found = []
    for action, body in re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', page, re.S):
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', body))
        fields.pop("csrftoken", None)
        found.append((action, fields))
    return found


def test_every_form_without_its_csrf_token_is_refused(engine: Engine) -> None:
    docket = new_case(engine)
    officer = holder_of(engine, docket)
    app = dashboard(engine)
    client = signed_in_as(app, engine, officer)
    preview = post_form(client, f"/cases/{docket}", f"/cases/{docket}/act/preview", note=NOTE)
    link = client.get(link_for(SECRET, "", docket, officer, now=NOW)).text
    forms = forms_on(client.get(f"/cases/{docket}").text) + forms_on(preview.text) + forms_on(client.get("/queue").text)
    forms += forms_on(link)
    actions = {action for action, _ in forms}
    assert {f"/cases/{docket}/{a}" for a in ("acknowledge", "act/preview", "act", "request-reassignment")} <= actions
    assert any(a.startswith("/l/") for a in actions) and "/logout" in actions

    for action, fields in forms:
        data = {**fields, "note": NOTE, "reason": "On leave"}
        for token in (None, "forged-token"):
            answer = client.post(
                action, data=data if token is None else {**data, "csrftoken": token}, follow_redirects=False
            )
            assert answer.status_code == 403 and "This form was refused" in answer.text, action
    assert status_of(engine, docket) == "assigned" and audit_of(engine, docket)[-1][0] != "case.request_reassignment"


def test_post_text_is_inert_on_the_queue_the_case_and_the_link_page(engine: Engine) -> None:
    docket = new_case(engine, text=HOSTILE_TEXT)
    officer = holder_of(engine, docket)
    client = signed_in_as(dashboard(engine), engine, officer)
    preview = post_form(client, f"/cases/{docket}", f"/cases/{docket}/act/preview", note=HOSTILE_TEXT)
    pages = {
        "queue": client.get("/queue").text,
        "case": client.get(f"/cases/{docket}").text,
        "preview": preview.text,
        "link": TestClient(dashboard(engine)).get(link_for(SECRET, "", docket, officer, now=NOW)).text,
    }
    for name, page in pages.items():
        # a form keeps what the officer typed, as typed: their own text goes back to them in the fields
        page = re.sub(r'<textarea([^>]*)>[^<]*</textarea>|value="[^"]*"', "", page)
        assert "<script>alert" not in page and "<b>bold" not in page and 'href="javascript:' not in page, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name
        assert "[RLO]gnp.exe[PDF]" in page and "\u202e" not in page and "\u202c" not in page, name
        assert not re.search(r"<script(?! src=\"/static/vendor/htmx-2\.0\.11\.min\.js\")", page), name
