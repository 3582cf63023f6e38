"""A theft the station refuses to register, through the committed classifier and the real routing stage on
SQLite and PostgreSQL: in English, Hinglish, Hindi and Kannada the case is ``theft`` with the misconduct
flag, it goes to the supervisor of the station where it happened, and nobody in that station gets an
assignment, a copy or a message. The same theft without the accusation goes to that station.

The sample deployment (config.toml, data/bengaluru) is used as the bot would build it: the classifier with
the city's stations, the organisation from the people folder, the stages from ``assembly.build``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from assembly.build import load_classifier, make_stages
from assembly.city import load_city
from assembly.settings import load_settings
from models.db import session_scope
from models.mentions import ensure_account
from models.routing import Assignment, OutboxMessage
from models.stage import Stage
from models.tables import AuditEvent, Complaint, Mention
from routing.people import Organisation
from tests.conftest import ROOT
from tests.integration.test_notify_delivery import NOW  # noon on a Monday in Bengaluru

REFUSED_FIR = {
    "english": "my bike was stolen near Jayanagar 4th Block and the station refuses to file an FIR",
    "hinglish": "Jayanagar 4th Block ke paas meri bike chori ho gayi aur thane wale FIR likhne se mana kar rahe hain",
    "hindi": "जयनगर 4th ब्लॉक के पास मेरी बाइक चोरी हो गई और थाने वाले FIR दर्ज करने से मना कर रहे हैं",
    "kannada": "ಜಯನಗರ 4ನೇ ಬ್ಲಾಕ್ ಬಳಿ ನನ್ನ ಬೈಕ್ ಕಳ್ಳತನವಾಗಿದೆ, ಠಾಣೆಯವರು ಎಫ್‌ಐಆರ್ ದಾಖಲಿಸಲು ನಿರಾಕರಿಸುತ್ತಿದ್ದಾರೆ",
}
# Where the committed model files a language's post under another category, that language is marked
# xfail here with the reason (the model is being retrained on real posts); the routing checks still run.
CATEGORY_XFAIL: dict[str, str] = {}


@dataclass(frozen=True)
class Deployment:
    organisation: Organisation
    classify: Stage
    route: Stage


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    settings = load_settings(ROOT / "config.toml", {}, need_platform_secrets=False)
    jurisdictions, organisation, cameras = load_city(settings, {})
    classifier = load_classifier(settings, jurisdictions)
    (classify, route), _notify = make_stages(settings, classifier, organisation, cameras, jurisdictions)
    yield Deployment(organisation, classify, route)


def post(engine: Engine, text: str, *, external_id: str = "1900000001", **fields: Any) -> None:
    with session_scope(engine) as session:
        account_id = ensure_account(session, platform="x", key="blrcitypolice", external_user_id="1", label="x")
        session.add(
            Mention(
                platform="x",
                external_id=external_id,
                account_id=account_id,
                author_id="citizen-1",
                author_handle="citizen_1",
                text=f"@BlrCityPolice {text}",
                created_at=NOW,
                **fields,
            )
        )


def run(deployment: Deployment, engine: Engine) -> None:
    deployment.classify.run(engine, NOW)
    deployment.route.run(engine, NOW)


def the_case(engine: Engine) -> tuple[Complaint, list[Assignment], list[OutboxMessage]]:
    with session_scope(engine) as session:
        [case] = session.exec(select(Complaint)).all()
        assignments = list(session.exec(select(Assignment)).all())
        messages = list(session.exec(select(OutboxMessage)).all())
    return case, assignments, messages


def units_reached(org: Organisation, assignments: list[Assignment], messages: list[OutboxMessage]) -> set[str]:
    """The unit of every officer with an assignment (any role, any status) or a message about the case."""
    officers = {a.officer_id for a in assignments if a.officer_id} | {m.officer_id for m in messages}
    return {org.officers[o].unit_id for o in officers} | {a.unit_id for a in assignments if a.unit_id}


@pytest.mark.parametrize(
    "language",
    [
        pytest.param(lang, marks=pytest.mark.xfail(reason=CATEGORY_XFAIL[lang], strict=False))
        if lang in CATEGORY_XFAIL
        else lang
        for lang in REFUSED_FIR
    ],
)
def test_a_refused_fir_goes_to_the_supervisor_and_never_to_the_accused_station(
    deployment: Deployment, engine: Engine, language: str
) -> None:
    org = deployment.organisation
    post(engine, REFUSED_FIR[language])

    run(deployment, engine)

    case, assignments, messages = the_case(engine)
    station = case.station_id
    assert case.is_misconduct
    assert station is not None and org.stations[station].layer == "law_order"  # where the theft happened
    assert org.on_duty(station, NOW), "the station has officers on duty: without the flag they would get it"
    [assignee] = [a for a in assignments if a.role == "assignee"]
    assert (case.status, assignee.rule, assignee.unit_id) == (
        "assigned",
        "misconduct_to_supervisor",
        org.parent(station),
    )
    assert station not in units_reached(org, assignments, messages)
    assert {m.officer_id for m in messages} == {assignee.officer_id}
    assert case.category == "theft"


def test_the_same_theft_without_the_accusation_goes_to_that_station(deployment: Deployment, engine: Engine) -> None:
    post(engine, "my bike was stolen near Jayanagar 4th Block last night, please help")

    run(deployment, engine)

    case, assignments, _ = the_case(engine)
    [assignee] = [a for a in assignments if a.role == "assignee"]
    assert (case.category, case.is_misconduct, case.status) == ("theft", False, "assigned")
    assert case.station_id is not None and assignee.unit_id == case.station_id


def test_a_follow_up_accusing_the_station_raises_the_flag_on_a_case_not_yet_routed(
    deployment: Deployment, engine: Engine
) -> None:
    org = deployment.organisation
    post(engine, "my bike was stolen near Jayanagar 4th Block last night, please help", external_id="1900000001")
    post(
        engine,
        "I went to the station and they refuse to file an FIR",
        external_id="1900000002",
        in_reply_to_id="1900000001",
        conversation_id="1900000001",
    )

    run(deployment, engine)

    case, assignments, messages = the_case(engine)  # one case: the follow-up joined it
    assert case.station_id is not None and (case.category, case.is_misconduct) == ("theft", True)
    [assignee] = [a for a in assignments if a.role == "assignee"]
    assert (assignee.rule, assignee.unit_id) == ("misconduct_to_supervisor", org.parent(case.station_id))
    assert case.station_id not in units_reached(org, assignments, messages)
    with session_scope(engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]  # type: ignore[arg-type]
    assert "complaint.misconduct_alleged" in kinds
