"""The desk's triage page through the real app on SQLite and PostgreSQL: the desk corrects a place and, after
the next routing cycle, the case is at the new station; merge and spam; a refusal is shown beside the case with
what was typed; every triage form without its CSRF token is refused; who may act and who may not."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from models import users as store
from models.corrections import Correction
from models.db import session_scope
from models.tables import Complaint
from monitor.followup.actions import CaseActions
from routing.stage import RouteStage
from tests.integration.test_case_actions import COMPOSER, ORG, case, file_post, holder
from tests.integration.test_corrections import relocate
from tests.integration.test_dashboard_auth import NOW, PASSWORDS, csrf_token, hashed, make_app, signed_in
from tests.integration.test_dashboard_pages import HOSTILE_TEXT, dockets_on
from tests.integration.test_notify_delivery import context

ACCOUNTS = {  # username = role; the officers of tests.builders.make_org
    "desk": {"officer_id": "DESK1"},
    "supervisor": {"officer_id": "ACP1", "unit_id": "a1"},
    "officer": {"officer_id": "L1-A"},
    "commissioner": {"officer_id": "CP"},
}


def units_under(unit: str) -> Collection[str]:
    return {u for u in ORG.stations if unit in ORG.chain(u)[1:]}


def add_accounts(engine: Engine, **overrides: dict[str, Any]) -> None:
    with session_scope(engine) as session:
        for role, extra in {**ACCOUNTS, **overrides}.items():
            store.add_user(session, username=role, role=role, password_hash=hashed(PASSWORDS[role]), now=NOW, **extra)


def app_for(engine: Engine, *, with_actions: bool = True) -> FastAPI:
    triage = CaseActions(engine, ORG, COMPOSER, relocate=relocate) if with_actions else None
    return make_app(engine, triage=triage, units_under=units_under)


def at_desk(engine: Engine, text: str = "Someone stole my bag, I do not know the area", **kw: Any) -> tuple[int, str]:
    """A case routing sent to the desk: no station."""
    cid = file_post(engine, text=text, station=None, **kw)
    RouteStage(context(ORG)).run(engine, NOW)
    found = case(engine, cid)
    assert found.status == "desk" and found.docket is not None
    return cid, found.docket


def post(client: TestClient, path: str, **data: str) -> Any:
    return client.post(path, data={"csrftoken": csrf_token(client, "/triage"), **data}, follow_redirects=False)


def test_the_desk_corrects_the_place_and_after_routing_the_case_is_at_the_new_station(engine: Engine) -> None:
    add_accounts(engine)
    cid, docket = at_desk(engine)
    client = signed_in(app_for(engine), "desk")
    page = client.get("/triage").text
    assert dockets_on(page) == {docket} and "no station" in page
    assert f'action="/triage/{docket}/correct"' in page and page.count("<option ") == 15

    done = post(client, f"/triage/{docket}/correct", category="theft", place="Koramangala")

    assert (done.status_code, done.headers["location"]) == (303, f"/triage?done=correct&docket={docket}")
    assert f"{docket} corrected: routing places it again" in client.get(done.headers["location"]).text
    assert (case(engine, cid).status, case(engine, cid).station_id) == ("new", "l2")
    RouteStage(context(ORG)).run(engine, NOW)
    assert (case(engine, cid).status, holder(engine, cid)) == ("assigned", "L2-HEAD")
    assert docket not in dockets_on(client.get("/triage").text)  # placed: nothing left for the desk
    with session_scope(engine) as session:
        [kept] = session.exec(select(Correction)).all()
    assert (kept.officer_id, kept.new_place, kept.new_station, kept.old_station) == ("DESK1", "Koramangala", "l2", None)


def test_a_refused_correction_is_shown_beside_the_case_with_what_was_typed(engine: Engine) -> None:
    add_accounts(engine)
    cid, docket = at_desk(engine)
    client = signed_in(app_for(engine), "desk")

    refused = post(client, f"/triage/{docket}/correct", category="violence", place="Atlantis <b>")

    assert refused.status_code == 409
    assert re.search(r'role="alert">[^<]*unknown place &#39;Atlantis &lt;b&gt;&#39;', refused.text)
    assert 'value="Atlantis &lt;b&gt;"' in refused.text and '<option value="violence" selected>' in refused.text
    assert case(engine, cid).status == "desk"


def test_the_desk_merges_a_duplicate_and_rejects_spam_from_the_list(engine: Engine) -> None:
    add_accounts(engine)
    dup, dup_docket = at_desk(engine, text="Bag stolen, same as my earlier post")
    spam, spam_docket = at_desk(engine, text="Buy followers cheap!!! DM now")
    target = file_post(engine, text="My bag was stolen at the bus stand")
    RouteStage(context(ORG)).run(engine, NOW)
    into = case(engine, target).docket
    assert into is not None
    client = signed_in(app_for(engine), "commissioner")

    nowhere = post(client, f"/triage/{dup_docket}/merge", into="")
    merged = post(client, f"/triage/{dup_docket}/merge", into=into)
    rejected = post(client, f"/triage/{spam_docket}/spam")

    assert nowhere.status_code == 409 and "a merge needs the docket" in nowhere.text
    assert merged.status_code == rejected.status_code == 303
    assert f"{spam_docket} rejected as spam" in client.get(rejected.headers["location"]).text
    assert (case(engine, dup).status, case(engine, dup).merged_into_id) == ("merged", target)
    assert (case(engine, spam).status, case(engine, spam).rejected_reason) == ("rejected", "spam")
    assert dockets_on(client.get("/triage").text) == set()


def test_every_triage_form_without_its_csrf_token_is_refused(engine: Engine) -> None:
    add_accounts(engine)
    cid, docket = at_desk(engine)
    client = signed_in(app_for(engine), "desk")
    forms = {"correct": {"category": "theft", "place": "Koramangala"}, "merge": {"into": "BLR-2026-000099"}, "spam": {}}
    page = client.get("/triage").text
    for action in forms:  # each form on the page carries the token
        assert re.search(rf'action="/triage/{docket}/{action}">\s*<input type="hidden" name="csrftoken" value="[^"]+"', page)

    for action, data in forms.items():
        for token in ({}, {"csrftoken": "forged"}):
            refused = client.post(f"/triage/{docket}/{action}", data={**data, **token}, follow_redirects=False)
            assert refused.status_code == 403 and "This form was refused" in refused.text, (action, token)

    assert case(engine, cid).status == "desk"
    with session_scope(engine) as session:
        assert session.exec(select(Correction)).all() == []


def test_an_officer_may_not_act_from_triage_and_a_supervisor_only_on_their_stations(engine: Engine) -> None:
    add_accounts(engine)
    _, docket = at_desk(engine)
    outside = file_post(engine, text="Fight outside the cinema", station="l3")
    with session_scope(engine) as session:  # unsure: routing sends it to the desk, filed under l3
        row = session.get(Complaint, outside)
        assert row is not None
        row.confidence = 0.3
        session.add(row)
    RouteStage(context(ORG)).run(engine, NOW)
    l3_docket = case(engine, outside).docket
    app = app_for(engine)

    officer = signed_in(app, "officer")
    assert officer.get("/triage").status_code == 403
    assert post(officer, f"/triage/{docket}/spam").status_code == 403

    supervisor = signed_in(app, "supervisor")  # ACP 1: stations l1 and l2
    assert l3_docket not in dockets_on(supervisor.get("/triage").text)
    assert post(supervisor, f"/triage/{l3_docket}/spam").status_code == 404
    assert case(engine, outside).status == "desk"


@pytest.mark.parametrize("with_actions", [True, False])
def test_without_an_officer_or_the_actions_the_list_has_no_forms_and_says_why(engine: Engine, with_actions: bool) -> None:
    add_accounts(engine, desk={})  # a desk account linked to no officer
    cid, docket = at_desk(engine, text=HOSTILE_TEXT)
    client = signed_in(app_for(engine, with_actions=with_actions), "desk")

    page = client.get("/triage").text
    assert "<form method=\"post\" action=\"/triage/" not in page
    why = "is not linked to an officer" if with_actions else "cannot act on cases right now"
    assert why in page
    assert "<script>alert" not in page and "[RLO]gnp.exe[PDF]" in page  # post text stays inert
    refused = post(client, f"/triage/{docket}/spam")
    assert refused.status_code == (403 if with_actions else 503) and why in refused.text
    assert case(engine, cid).status == "desk"


def test_a_case_whose_action_is_reported_offers_only_what_its_status_allows(engine: Engine) -> None:
    add_accounts(engine)
    cid, docket = at_desk(engine)
    with session_scope(engine) as session:
        row = session.get(Complaint, cid)
        assert row is not None
        row.status = "action_taken"
        session.add(row)
    page = signed_in(app_for(engine), "desk").get("/triage").text

    assert docket in dockets_on(page)
    assert f"/triage/{docket}/merge" in page
    assert f"/triage/{docket}/correct" not in page and f"/triage/{docket}/spam" not in page
