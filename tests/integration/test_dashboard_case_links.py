"""Signed links in officers' messages, through the real app on SQLite and PostgreSQL: opening one never acts
(link previews and mail scanners open links first), the button acts once, a second press, an expired, a
forged or a respelled link gets a page saying so, and two presses racing each other acknowledge once.
Routing puts the holder's own link in the holder's message; migration 0008 comes and goes."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

import models.followup  # noqa: F401  (registers every table the migrations make)
import models.leases  # noqa: F401
import models.links  # noqa: F401
import models.routing  # noqa: F401
import models.tally  # noqa: F401
import models.users  # noqa: F401
from dashboard.links import link_for
from models.db import alembic_config, migrate, session_scope
from models.links import SignedLinkUse
from models.routing import Assignment, OutboxMessage
from routing.stage import RouteStage
from tests.integration.test_dashboard_auth import SECRET, FakeClock, make_app
from tests.integration.test_dashboard_case_page import (
    ORG,
    audit_of,
    case_actions,
    dashboard,
    holder_of,
    new_case,
    post_form,
    signed_in_as,
    status_of,
    token_on,
)
from tests.integration.test_notify_delivery import NOW, add_complaint, context

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
BUTTON = re.compile(r'<form method="post" action="(/l/[^"]+)">')


def link(engine: Engine, docket: str, officer: str | None = None) -> str:
    return link_for(SECRET, "", docket, officer or holder_of(engine, docket), now=NOW)


def press(client: TestClient, page: str) -> Any:
    """Press the page's one button, as the browser would."""
    [action] = BUTTON.findall(page)
    return client.post(action, data={"csrftoken": token_on(page)}, follow_redirects=False)


def test_opening_a_link_never_acts_and_its_button_acts_once(engine: Engine) -> None:
    docket = new_case(engine)
    officer = holder_of(engine, docket)
    url = link(engine, docket)
    scanner, officer_phone = TestClient(dashboard(engine)), TestClient(dashboard(engine))

    previews = [scanner.get(url), scanner.head(url), officer_phone.get(url)]

    assert [p.status_code for p in previews] == [200, 200, 200]
    assert status_of(engine, docket) == "assigned" and audit_of(engine, docket)[-1][0] != "case.acknowledge"
    page = previews[-1].text
    assert BUTTON.findall(page) == [url] and f"Acknowledge {docket}" in page
    assert "my phone was snatched near the bus stand" in page and "<h2>Timeline</h2>" in page
    assert "/act/preview" not in page and "request-reassignment" not in page  # one button, nothing else

    pressed = press(officer_phone, page)

    assert pressed.status_code == 200 and f"{docket} acknowledged" in pressed.text
    assert status_of(engine, docket) == "acknowledged"
    assert audit_of(engine, docket)[-2:] == [("case.acknowledge", officer), ("case.signed_link", officer)]
    again = press(officer_phone, page)
    assert again.status_code == 410 and "This link was used already" in again.text
    assert "(acknowledged)" in again.text
    reopened = scanner.get(url)
    assert reopened.status_code == 410 and "used already" in reopened.text
    assert [kind for kind, _ in audit_of(engine, docket)].count("case.acknowledge") == 1


def test_a_used_link_spelt_another_way_is_still_used(engine: Engine) -> None:
    docket = new_case(engine)
    url = link(engine, docket)
    client = TestClient(dashboard(engine))
    press(client, client.get(url).text)

    last = ALPHABET.index(url[-1]) & ~3  # the signature's last letter: its two low bits are spare
    respelt = [url[:-1] + letter for letter in ALPHABET[last : last + 4] if letter != url[-1]]
    answers = [client.get(u) for u in respelt]

    assert len(answers) == 3 and all(a.status_code == 410 and "used already" in a.text for a in answers)


def test_an_expired_or_forged_link_gets_a_page_saying_so(engine: Engine) -> None:
    docket = new_case(engine)
    url = link(engine, docket)
    clock = FakeClock(NOW + timedelta(hours=72, seconds=1))
    client = TestClient(make_app(engine, clock, actions=case_actions(engine)))
    page = TestClient(dashboard(engine)).get(url).text  # opened in time, pressed too late

    expired = client.get(url)
    late_press = client.post(url, data={"csrftoken": token_on(client.get("/login").text)})
    forged = client.get(
        link_for(type(SECRET)("another dashboard's secret, long enough too"), "", docket, "L1-A", now=NOW)
    )
    cut = client.get(url[:-4])

    assert expired.status_code == late_press.status_code == 410
    assert "This link has expired" in expired.text and "72 hours" in expired.text and page
    assert forged.status_code == cut.status_code == 404 and "This link is not valid" in forged.text
    assert status_of(engine, docket) == "assigned"
    short = TestClient(make_app(engine, FakeClock(NOW + timedelta(hours=2)), link_max_age=timedelta(hours=1)))
    assert short.get(url).status_code == 410


def test_a_link_of_an_officer_who_no_longer_holds_the_case_does_not_open_it(engine: Engine) -> None:
    docket = new_case(engine)
    officer = holder_of(engine, docket)
    url = link(engine, docket)
    case_actions(engine).reassign(
        docket, officer_id="DESK1", to_officer="L1-NIGHT" if officer != "L1-NIGHT" else "L1-A", now=NOW
    )

    answer = TestClient(dashboard(engine)).get(url)

    assert answer.status_code == 410 and f"no longer assigned to {officer}" in answer.text
    assert "my phone was snatched" not in answer.text


def test_a_case_acknowledged_meanwhile_shows_no_button_and_a_stale_press_says_why(engine: Engine) -> None:
    docket = new_case(engine)
    officer = holder_of(engine, docket)
    url = link(engine, docket)
    client = TestClient(dashboard(engine))
    stale = client.get(url).text
    desktop = signed_in_as(dashboard(engine), engine, officer)
    post_form(desktop, f"/cases/{docket}", f"/cases/{docket}/acknowledge")

    fresh = client.get(url)
    pressed = press(client, stale)

    assert fresh.status_code == 200 and BUTTON.findall(fresh.text) == [] and "Nothing for this link to do" in fresh.text
    assert pressed.status_code == 409
    assert "it cannot be acknowledged now" in pressed.text
    assert [kind for kind, _ in audit_of(engine, docket)].count("case.acknowledge") == 1


def test_two_presses_racing_each_other_acknowledge_once(engine: Engine) -> None:
    docket = new_case(engine)
    url = link(engine, docket)
    app = dashboard(engine)
    clients = [TestClient(app) for _ in range(4)]
    pages = [c.get(url).text for c in clients]
    answers: list[int] = []
    start = threading.Barrier(len(clients))

    def go(client: TestClient, page: str) -> None:
        start.wait()
        answers.append(press(client, page).status_code)

    threads = [threading.Thread(target=go, args=pair) for pair in zip(clients, pages, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(answers) == [200, 410, 410, 410]
    assert [kind for kind, _ in audit_of(engine, docket)].count("case.acknowledge") == 1
    with session_scope(engine) as session:
        assert len(session.exec(select(SignedLinkUse)).all()) == 1


def test_without_the_officer_actions_the_button_says_it_cannot_act(engine: Engine) -> None:
    docket = new_case(engine)
    client = TestClient(dashboard(engine, with_actions=False))
    url = link(engine, docket)
    page = client.get(url).text

    answer = client.post(url, data={"csrftoken": token_on(client.get("/login").text)})  # a form of its own

    assert BUTTON.findall(page) == [] and "cannot act on cases right now" in page
    assert answer.status_code == 503 and status_of(engine, docket) == "assigned"


@pytest.mark.parametrize("emergency", [False, True])
def test_routing_puts_the_holders_own_link_in_the_holders_message(engine: Engine, emergency: bool) -> None:
    """Copies (an emergency's supervisor) get the case page: only the holder acknowledges."""
    add_complaint(engine, emergency=emergency, text="Chain snatching at the market")
    made: list[tuple[str, str]] = []

    def case_link(docket: str, officer_id: str) -> str:
        made.append((docket, officer_id))
        return link_for(SECRET, "http://127.0.0.1:8000", docket, officer_id, now=NOW)

    RouteStage(replace(context(ORG), case_link=case_link)).run(engine, NOW)

    with session_scope(engine) as session:
        messages = session.exec(select(OutboxMessage)).all()
        bodies = {m.officer_id: m.body for m in messages}
        docket = session.exec(select(Assignment.docket)).first()
    assert docket is not None
    holder = holder_of(engine, docket)
    assert made == [(docket, holder)]
    [url] = re.findall(r"Case: (\S+)", bodies[holder])
    assert url.startswith("http://127.0.0.1:8000/l/")
    copies = {o: b for o, b in bodies.items() if o != holder}
    assert bool(copies) is emergency
    assert all(f"Case: http://127.0.0.1:8000/cases/{docket}" in b for b in copies.values())
    page = TestClient(dashboard(engine)).get(url.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200 and f"Acknowledge {docket}" in page.text


def test_migration_0008_makes_the_links_table_and_takes_it_away(engine: Engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
        tables = set(sa.inspect(connection).get_table_names())
    migrate(engine)

    assert "signed_link_use" not in tables and "dashboard_user" in tables
    assert "signed_link_use" in set(sa.inspect(engine).get_table_names())
