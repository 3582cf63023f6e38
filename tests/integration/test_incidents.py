"""One incident, many reporters, through the real classify stage on SQLite and PostgreSQL.

Three people report one pothole at Silk Board, on X and on Facebook, within a few hours: one case with
their three posts (``first``, ``incident``, ``incident``), however the posts fall into batches and runs.
A report 300 m away, a day past a jam's window, after the case was closed, or accusing the police, is a
case of its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from classifiers.filing import IncidentPolicy
from models.db import session_scope
from models.tables import Complaint
from models.taxonomy import Category
from tests.integration.test_followup_filing import (
    JAYANAGAR,
    NOW,
    SILK_BOARD,
    Reading,
    case_of,
    events,
    filed,
    set_case,
    stage,
    store,
)

METRE_LAT = 1 / 111_195.0
NAME, LAT, LON = SILK_BOARD
POTHOLE_X = "@BlrCityPolice deep pothole at Silk Board junction"
POTHOLE_FB = "Silk board signal pothole, please fix before someone dies"
POTHOLE_NEAR = "pothole near the Silk Board flyover ramp"  # 120 m from the junction
POTHOLE_FAR = "another pothole on Hosur Road"  # 300 m from it
FELL = "A man fell into the pothole at Silk Board, he is hurt, send help"
BRIBE = "The constable at Silk Board took a bribe instead of fixing the barricade"
JAM = "Traffic jam at Silk Board, not moving for 40 minutes"
SCRIPT = {
    POTHOLE_X: Reading(Category.ROAD_INFRASTRUCTURE, SILK_BOARD),
    POTHOLE_FB: Reading(Category.ROAD_INFRASTRUCTURE, ("silk board junction", LAT, LON)),
    POTHOLE_NEAR: Reading(Category.ROAD_INFRASTRUCTURE, ("Silk Board flyover", LAT + 120 * METRE_LAT, LON)),
    POTHOLE_FAR: Reading(Category.ROAD_INFRASTRUCTURE, ("Hosur Road", LAT + 300 * METRE_LAT, LON)),
    FELL: Reading(Category.ROAD_INFRASTRUCTURE, SILK_BOARD, emergency=True),
    BRIBE: Reading(Category.ROAD_INFRASTRUCTURE, SILK_BOARD, misconduct=True),
    JAM: Reading(Category.TRAFFIC_CONGESTION, SILK_BOARD),
}
POLICY = IncidentPolicy()


def first_reporter(engine: Engine) -> str:
    store(engine, "1900000001", POTHOLE_X, platform="x", author="101", conversation_id="1900000001")
    return "1900000001"


def later_reporters(engine: Engine) -> list[str]:
    store(engine, "1089_3001", POTHOLE_FB, author="asha", in_reply_to_id="1089", conversation_id="1089", minutes=50)
    store(engine, "1900000009", POTHOLE_NEAR, platform="x", author="102", conversation_id="1900000009", minutes=300)
    return ["1089_3001", "1900000009"]


def three_reporters(engine: Engine) -> list[str]:
    return [first_reporter(engine), *later_reporters(engine)]


@pytest.mark.parametrize("batch_size", [256, 1], ids=["one batch", "one post a batch"])
def test_three_reporters_of_one_pothole_make_one_case(engine: Engine, batch_size: int) -> None:
    ids = three_reporters(engine)

    counts = stage(SCRIPT, POLICY, batch_size=batch_size).run(engine, NOW)

    posts = filed(engine)
    assert counts == {"classified": 3, "complaints": 1, "followups": 0, "incidents": 2}
    assert len({posts[i].complaint_id for i in ids}) == 1
    assert [posts[i].joined_as for i in ids] == ["first", "incident", "incident"]
    assert all(posts[i].post_category == "road_infrastructure" and posts[i].handled_at is None for i in ids)
    with session_scope(engine) as session:
        assert len(session.exec(select(Complaint)).all()) == 1
    reports = events(engine, "complaint.incident_report")
    assert [(e.detail["mention_id"], e.detail["reporters"]) for e in reports] == [
        (posts[ids[1]].id, 2),
        (posts[ids[2]].id, 3),
    ]
    assert reports[1].detail["distance_m"] == pytest.approx(120, abs=2)


def test_reporters_arriving_in_later_runs_join_the_open_case(engine: Engine) -> None:
    first = first_reporter(engine)
    stage(SCRIPT, POLICY).run(engine, NOW)
    set_case(engine, first, status="acknowledged")  # the officer has it
    later = later_reporters(engine)

    counts = stage(SCRIPT, POLICY).run(engine, NOW + timedelta(hours=6))

    posts = filed(engine)
    assert counts["incidents"] == 2
    assert {posts[i].complaint_id for i in later} == {posts[first].complaint_id}
    assert case_of(engine, first).status == "acknowledged"


def test_an_emergency_about_the_same_spot_joins_and_makes_the_case_an_emergency(engine: Engine) -> None:
    store(engine, "1900000001", POTHOLE_X, platform="x", author="101", conversation_id="1900000001")
    store(engine, "1900000002", FELL, platform="x", author="102", conversation_id="1900000002", minutes=30)

    stage(SCRIPT, POLICY).run(engine, NOW)

    case = case_of(engine, "1900000001")
    assert case.id == case_of(engine, "1900000002").id and case.is_emergency
    assert [e.entity_id for e in events(engine, "complaint.escalated_emergency")] == [str(case.id)]
    assert filed(engine)["1900000002"].joined_as == "incident"


@pytest.mark.parametrize(
    ("text", "minutes", "why"),
    [
        (POTHOLE_FAR, 30, "300 m away"),
        (BRIBE, 30, "an accusation is personal"),
        (POTHOLE_X, 8 * 24 * 60, "a week and a day later"),
    ],
)
def test_a_report_that_is_not_the_same_incident_opens_its_own_case(
    engine: Engine, text: str, minutes: int, why: str
) -> None:
    store(engine, "1089_3001", POTHOLE_FB, author="asha", in_reply_to_id="1089", conversation_id="1089")
    store(engine, "1900000002", text, platform="x", author="102", conversation_id="1900000002", minutes=minutes)

    counts = stage(SCRIPT, POLICY).run(engine, NOW)

    assert counts["complaints"] == 2, why
    assert filed(engine)["1900000002"].joined_as == "first"


def test_a_jam_is_one_incident_for_hours_not_days(engine: Engine) -> None:
    store(engine, "1900000001", JAM, platform="x", author="101", conversation_id="1900000001")
    store(engine, "1900000002", JAM, platform="x", author="102", conversation_id="1900000002", minutes=90)
    store(engine, "1900000003", JAM, platform="x", author="103", conversation_id="1900000003", minutes=5 * 60)

    stage(SCRIPT, POLICY).run(engine, NOW)

    assert [filed(engine)[i].joined_as for i in ("1900000001", "1900000002", "1900000003")] == [
        "first",
        "incident",
        "first",
    ]


@pytest.mark.parametrize("status", ["closed", "referral", "rejected", "merged", "action_taken"])
def test_a_case_no_longer_open_gathers_no_reporters(engine: Engine, status: str) -> None:
    store(engine, "1900000001", POTHOLE_X, platform="x", author="101", conversation_id="1900000001")
    stage(SCRIPT, POLICY).run(engine, NOW)
    old = set_case(engine, "1900000001", status=status)
    store(engine, "1089_3001", POTHOLE_FB, author="asha", in_reply_to_id="1089", conversation_id="1089", minutes=60)

    stage(SCRIPT, POLICY).run(engine, NOW + timedelta(hours=1))

    post = filed(engine)["1089_3001"]
    assert post.joined_as == "first" and post.complaint_id != old


def test_without_a_policy_every_reporter_has_a_case(engine: Engine) -> None:
    three_reporters(engine)

    counts = stage(SCRIPT).run(engine, NOW)

    assert (counts["complaints"], counts["incidents"]) == (3, 0)


def test_the_same_named_place_is_one_incident_without_coordinates(engine: Engine) -> None:
    script = {
        "music since 11 pm": Reading(Category.PUBLIC_NUISANCE, JAYANAGAR),
        "loud party, cannot sleep": Reading(Category.PUBLIC_NUISANCE, ("JAYANAGAR 4th block", None, None)),
        "drunk men shouting": Reading(Category.PUBLIC_NUISANCE, ("Jayanagar 9th Block", None, None)),
    }
    store(engine, "1900000001", "music since 11 pm", platform="x", author="101", conversation_id="1900000001")
    store(engine, "1900000002", "loud party, cannot sleep", platform="x", author="102", conversation_id="1900000002")
    store(engine, "1900000003", "drunk men shouting", platform="x", author="103", conversation_id="1900000003")

    stage(script, POLICY).run(engine, NOW)

    posts = filed(engine)
    assert [posts[i].joined_as for i in ("1900000001", "1900000002", "1900000003")] == ["first", "incident", "first"]
