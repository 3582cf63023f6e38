"""The citizen's next post, through the real classify stage on SQLite and PostgreSQL.

Ravi comments under the force's Facebook page post about a pothole at Silk Board, then under the same
page post about a robbery in Jayanagar: two cases, not one. His thanks, his answer to the bot's reply and
his reply to his own comment stay in their case; a reply in the thread of a merged case goes to the case
it was merged into, of a rejected one to a case of its own. The classifier is a small scripted fake, so
what is tested is where each post is filed, not what the model reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from classifiers.filing import IncidentPolicy
from classifiers.stage import ClassifyStage
from models.db import session_scope
from models.followup import Reply
from models.mentions import ensure_account
from models.tables import AuditEvent, Complaint, Mention
from models.taxonomy import Category

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PAGE = "104735829586723"
PAGE_POST = f"{PAGE}_1089000000000001"  # the force's own post that citizens comment under


@dataclass(frozen=True)
class Reading:
    """What the fake classifier says of one text."""

    category: Category
    place: tuple[str, float | None, float | None] | None = None
    emergency: bool = False
    vip: bool = False
    misconduct: bool = False


SILK_BOARD = ("Silk Board Junction", 12.9177, 77.6233)
JAYANAGAR = ("Jayanagar 4th Block", 12.9250, 77.5938)


@dataclass(frozen=True)
class FakeInput:
    id: str
    text: str


@dataclass(frozen=True)
class FakeResult:
    id: str
    category: Category
    confidence: float
    emergency: bool
    vip: bool
    misconduct: bool
    place: str | None
    station: str | None
    place_lat: float | None
    place_lon: float | None


class ScriptedClassifier:
    """Reads each text as the script says (``other`` for a text it does not know)."""

    def __init__(self, script: Mapping[str, Reading]) -> None:
        self._script = script

    def classify(self, posts: Sequence[FakeInput], /) -> list[FakeResult]:
        results = []
        for post in posts:
            reading = self._script.get(post.text, Reading(Category.OTHER))
            name, lat, lon = reading.place or (None, None, None)
            station = "blr-stn" if reading.category in (Category.THEFT, Category.ROAD_INFRASTRUCTURE) else None
            results.append(
                FakeResult(
                    post.id,
                    reading.category,
                    0.9,
                    reading.emergency,
                    reading.vip,
                    reading.misconduct,
                    name,
                    station if name else None,
                    lat,
                    lon,
                )
            )
        return results


def make_input(*, id: str, text: str, **_: Any) -> FakeInput:
    return FakeInput(id, text)


def stage(
    script: Mapping[str, Reading], incidents: IncidentPolicy | None = None, *, batch_size: int = 256
) -> ClassifyStage[FakeInput]:
    return ClassifyStage(ScriptedClassifier(script), make_input, batch_size=batch_size, incidents=incidents)


def store(
    engine: Engine,
    external_id: str,
    text: str,
    *,
    author: str = "ravi",
    platform: str = "facebook",
    minutes: float = 0,
    **fields: Any,
) -> None:
    """A stored, unclassified post ``minutes`` after 09:00."""
    key, user = (PAGE, PAGE) if platform == "facebook" else ("blrcitypolice", "1")
    with session_scope(engine) as session:
        account_id = ensure_account(session, platform=platform, key=key, external_user_id=user, label=key)
        session.add(
            Mention(
                platform=platform,
                external_id=external_id,
                account_id=account_id,
                author_id=author,
                author_handle=author,
                text=text,
                created_at=T0 + timedelta(minutes=minutes),
                **fields,
            )
        )


def comment(engine: Engine, number: int, text: str, *, parent: str = PAGE_POST, **fields: Any) -> str:
    """A comment under the page post (or under another comment), as the Facebook adapter stores it."""
    external_id = f"1089000000000001_{2000 + number}"
    store(engine, external_id, text, in_reply_to_id=parent, conversation_id=PAGE_POST, minutes=number, **fields)
    return external_id


def filed(engine: Engine) -> dict[str, Mention]:
    """Every post by its external id."""
    with session_scope(engine) as session:
        mentions = session.exec(select(Mention)).all()
        session.expunge_all()
    return {m.external_id: m for m in mentions}


def case_of(engine: Engine, external_id: str) -> Complaint:
    with session_scope(engine) as session:
        mention = session.exec(select(Mention).where(Mention.external_id == external_id)).one()
        complaint = session.get(Complaint, mention.complaint_id)
        assert complaint is not None
        session.expunge(complaint)
    return complaint


def events(engine: Engine, kind: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        found = session.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(col(AuditEvent.id))).all()
        session.expunge_all()
    return list(found)


POTHOLE = "Huge pothole at Silk Board, bikes are falling"
ROBBERY = "My phone was snatched at Jayanagar 4th Block just now"
STILL = "Still not fixed, two more bikes fell today"
THANKS = "Thank you for the quick response"
SCRIPT = {
    POTHOLE: Reading(Category.ROAD_INFRASTRUCTURE, SILK_BOARD),
    ROBBERY: Reading(Category.THEFT, JAYANAGAR),
    STILL: Reading(Category.ROAD_INFRASTRUCTURE),
    THANKS: Reading(Category.APPRECIATION),
}


def test_a_robbery_under_the_same_page_post_is_a_case_of_its_own(engine: Engine) -> None:
    pothole = comment(engine, 1, POTHOLE)
    robbery = comment(engine, 2, ROBBERY)
    still = comment(engine, 3, STILL)

    counts = stage(SCRIPT).run(engine, NOW)

    posts = filed(engine)
    assert counts == {"classified": 3, "complaints": 2, "followups": 1, "incidents": 0}
    assert case_of(engine, pothole).category == "road_infrastructure"
    robbery_case = case_of(engine, robbery)
    assert (robbery_case.category, robbery_case.place_name, robbery_case.station_id) == (
        "theft",
        "Jayanagar 4th Block",
        "blr-stn",
    )
    assert posts[robbery].complaint_id != posts[pothole].complaint_id
    assert posts[still].complaint_id == posts[pothole].complaint_id
    assert [(posts[i].joined_as, posts[i].post_category) for i in (pothole, robbery, still)] == [
        ("first", "road_infrastructure"),
        ("first", "theft"),
        ("followup", "road_infrastructure"),
    ]
    [classified_robbery] = [
        e for e in events(engine, "complaint.classified") if e.detail["mention_id"] == posts[robbery].id
    ]
    assert (
        classified_robbery.detail["beside_case"] == posts[pothole].complaint_id
    )  # the desk can see where it came from
    # the follow-up tracker takes every post from here (it plans the first posts' acknowledgements)
    assert all(m.handled_at is None and m.classified_at == NOW for m in posts.values())


def test_thanks_and_answers_to_the_bot_stay_in_their_case(engine: Engine) -> None:
    pothole = comment(engine, 1, POTHOLE)
    stage(SCRIPT).run(engine, NOW)
    case = case_of(engine, pothole)
    with session_scope(engine) as session:
        mention = session.exec(select(Mention).where(Mention.external_id == pothole)).one()
        assert case.id is not None and mention.id is not None
        session.add(
            Reply(
                idempotency_key=f"ack:{mention.id}",
                complaint_id=case.id,
                mention_id=mention.id,
                account_id=mention.account_id,
                kind="acknowledgement",
                platform="facebook",
                in_reply_to=pothole,
                language="en",
                text="Noted: docket BLR-1",
                marker="A1",
                status="posted",
                next_attempt_at=NOW,
                external_id="1089000000000001_2900",
            )
        )
    bot_reply = "1089000000000001_2900"
    answer = comment(engine, 4, "Any update??", parent=bot_reply)
    thanks = comment(engine, 5, THANKS)
    own_reply = comment(engine, 6, "The pothole is now full of water, it's dangerous", parent=pothole)
    stranger = comment(engine, 7, THANKS, author="asha")
    robbery = comment(engine, 8, ROBBERY)  # not an answer to anything of the case: another matter

    stage(SCRIPT).run(engine, NOW + timedelta(hours=1))

    posts = filed(engine)
    assert {i for i, m in posts.items() if m.complaint_id == case.id} == {pothole, answer, thanks, own_reply}
    assert [posts[i].joined_as for i in (answer, thanks, own_reply)] == ["followup"] * 3
    assert (posts[thanks].post_category, posts[answer].post_category) == ("appreciation", "other")
    assert (posts[stranger].joined_as, posts[stranger].post_category) == ("first", "appreciation")
    assert (posts[robbery].joined_as, case_of(engine, robbery).category) == ("first", "theft")
    assert case_of(engine, pothole).status == "new"  # filing never reopens or moves a case
    matches = {e.detail["mention_id"]: e.detail["match"] for e in events(engine, "complaint.followup")}
    assert matches == {posts[answer].id: "reply", posts[thanks].id: "chatter", posts[own_reply].id: "reply"}


def test_a_follow_up_raises_the_case_to_an_emergency_and_vip(engine: Engine) -> None:
    store(engine, "1900000001", POTHOLE, platform="x", conversation_id="1900000001")
    hurt = "a scooter fell in the pothole, the rider is bleeding"
    store(
        engine, "1900000002", hurt, platform="x", in_reply_to_id="1900000001", conversation_id="1900000001", minutes=5
    )
    script = {**SCRIPT, hurt: Reading(Category.ROAD_ACCIDENT, emergency=True, vip=True)}

    stage(script).run(engine, NOW)

    case = case_of(engine, "1900000002")
    assert case.id == case_of(engine, "1900000001").id
    assert (case.category, case.is_emergency, case.is_vip) == ("road_infrastructure", True, True)
    assert [e.entity_id for e in events(engine, "complaint.escalated_emergency")] == [str(case.id)]
    assert [e.entity_id for e in events(engine, "complaint.escalated_vip")] == [str(case.id)]
    assert filed(engine)["1900000002"].post_category == "road_accident"


def set_case(engine: Engine, external_id: str, **fields: Any) -> int:
    with session_scope(engine) as session:
        mention = session.exec(select(Mention).where(Mention.external_id == external_id)).one()
        complaint = session.get(Complaint, mention.complaint_id)
        assert complaint is not None and complaint.id is not None
        for name, value in fields.items():
            setattr(complaint, name, value)
        return complaint.id


def test_the_thread_of_a_merged_case_goes_on_in_the_case_it_was_merged_into(engine: Engine) -> None:
    first = comment(engine, 1, POTHOLE)
    other = comment(engine, 2, POTHOLE, author="asha")
    stage(SCRIPT).run(engine, NOW)
    into = set_case(engine, other, status="assigned")
    merged = set_case(engine, first, status="merged", merged_into_id=into)
    again = comment(engine, 3, STILL, parent=first)

    stage(SCRIPT).run(engine, NOW + timedelta(hours=1))

    post = filed(engine)[again]
    assert (post.complaint_id, post.joined_as) == (into, "followup")
    assert post.complaint_id != merged


def test_the_thread_of_a_rejected_case_opens_a_case_of_its_own(engine: Engine) -> None:
    first = comment(engine, 1, POTHOLE)
    stage(SCRIPT).run(engine, NOW)
    rejected = set_case(engine, first, status="rejected", rejected_reason="spam")
    again = comment(engine, 2, STILL, parent=first)

    counts = stage(SCRIPT, IncidentPolicy()).run(engine, NOW + timedelta(hours=1))

    post = filed(engine)[again]
    assert counts["complaints"] == 1
    assert post.complaint_id != rejected and post.joined_as == "first"


def test_a_follow_up_naming_the_place_moves_a_case_waiting_at_the_desk_for_a_station(engine: Engine) -> None:
    """Issue 9 item 7: a post that joins a case can move it. The first post names no place (the desk holds it
    for want of a station); the citizen's next post says where: the case takes the place and goes back to routing."""
    vague = "Potholes everywhere, bikes are falling"
    where = "It is at Silk Board, near the junction"
    script = {vague: Reading(Category.ROAD_INFRASTRUCTURE), where: Reading(Category.ROAD_INFRASTRUCTURE, SILK_BOARD)}
    first = comment(engine, 1, vague)
    stage(script).run(engine, NOW)
    with session_scope(engine) as session:
        case = session.exec(select(Complaint)).one()
        case.status, case.docket = "desk", "BLR-2026-000001"  # as routing leaves a case with no station
        session.add(case)
    comment(engine, 2, where, parent=first)
    stage(script).run(engine, NOW + timedelta(minutes=5))
    moved = case_of(engine, first)
    assert (moved.place_name, moved.station_id, moved.status) == ("Silk Board Junction", "blr-stn", "new")
    assert [e.detail["station"] for e in events(engine, "complaint.placed_by_followup")] == ["blr-stn"]
