"""Which case a new post joins (``classifiers.filing``), as tables of threads and places in Bengaluru.

The citizen ``fb:ravi`` complained about a pothole at Silk Board in a comment (``C1``) under the force's
Facebook page post ``P``; the bot answered that comment with ``R1``. Another thread is ``Q``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from classifiers.filing import (
    DEFAULT_WINDOWS_H,
    NOWHERE,
    Case,
    CasePost,
    Filing,
    IncidentPolicy,
    IncidentPolicyError,
    JoinedAs,
    NewPost,
    Place,
    distance_m,
    file_post,
)
from models.taxonomy import Category, layer_for

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
METRE_LAT = 1 / 111_195.0  # degrees of latitude in a metre
SILK_BOARD = Place("Silk Board Junction", 12.9177, 77.6233)
JAYANAGAR = Place("Jayanagar 4th Block", 12.9250, 77.5938)
POLICY = IncidentPolicy()


def north_of(place: Place, metres: float, name: str | None = None) -> Place:
    assert place.lat is not None
    return Place(name, place.lat + metres * METRE_LAT, place.lon)


def pothole_case(**overrides: Any) -> Case:
    """Ravi's pothole case: his comment C1 under the page post P, answered by the bot's R1."""
    case = Case(
        id=1,
        category="road_infrastructure",
        status="assigned",
        posts=(CasePost("C1", "fb:ravi", T0, "P", "road_infrastructure"),),
        place=SILK_BOARD,
        reply_ids=frozenset({"R1"}),
    )
    return replace(case, **overrides)


def post(category: Category, **overrides: Any) -> NewPost:
    """A post by Ravi an hour later, a new comment under P (not an answer to any comment)."""
    values: dict[str, Any] = {
        "external_id": "C2",
        "author": "fb:ravi",
        "created_at": T0 + timedelta(hours=1),
        "category": category,
        "in_reply_to_id": "P",
        "conversation_id": "P",
    }
    return NewPost(**(values | overrides))


def another_reporter(category: Category = Category.ROAD_INFRASTRUCTURE, **overrides: Any) -> NewPost:
    """Asha, in a thread of her own (Q), about Silk Board."""
    values: dict[str, Any] = {
        "author": "x:asha",
        "in_reply_to_id": None,
        "conversation_id": "Q",
        "external_id": "Q",
        "place": SILK_BOARD,
    }
    return post(category, **(values | overrides))


ROBBERY_ELSEWHERE = post(Category.THEFT, place=JAYANAGAR)


@pytest.mark.parametrize(
    ("new", "joined_as", "case_id", "reason"),
    [
        # the citizen's next post in the thread
        (post(Category.ROAD_INFRASTRUCTURE), "followup", 1, "same_category"),  # "still not fixed"
        (post(Category.ROAD_ACCIDENT, place=north_of(SILK_BOARD, 40)), "followup", 1, "same_place"),  # a crash in it
        (post(Category.APPRECIATION), "followup", 1, "chatter"),  # "thank you, it is fixed"
        (post(Category.INFORMATION_REQUEST), "followup", 1, "chatter"),  # "when will it be fixed?"
        (post(Category.OTHER), "followup", 1, "chatter"),  # an emoji, a cannot-read post
        # an answer to his own comment or to the bot's reply continues the case, whatever its category
        (post(Category.TRAFFIC_CONGESTION, in_reply_to_id="R1"), "followup", 1, "reply"),
        (post(Category.OFFICER_MISCONDUCT, in_reply_to_id="C1"), "followup", 1, "reply"),  # "they refuse an FIR"
        (post(Category.APPRECIATION, in_reply_to_id="R1"), "followup", 1, "reply"),
        (post(Category.TRAFFIC_CONGESTION, place=JAYANAGAR, in_reply_to_id="C1"), "followup", 1, "reply"),
        # another matter under the same page post is a case of its own: the robbery never joins the pothole
        (ROBBERY_ELSEWHERE, "first", None, "new_matter"),
        (post(Category.THEFT), "first", None, "new_matter"),  # a robbery with no place named
        (post(Category.CIVIC_REFERRAL), "first", None, "new_matter"),  # garbage: another authority's
        # other threads, other people
        (post(Category.ROAD_INFRASTRUCTURE, in_reply_to_id=None, conversation_id="Q"), "first", None, "new"),
        (post(Category.APPRECIATION, author="fb:asha"), "first", None, "new"),  # a stranger's thanks under P
        (post(Category.ROAD_INFRASTRUCTURE, author=None), "first", None, "new"),  # unknown author: no thread
    ],
)
def test_the_citizens_next_post(new: NewPost, joined_as: str, case_id: int | None, reason: str) -> None:
    filing = file_post(new, thread=[pothole_case()], incidents=POLICY)
    assert (filing.joined_as, filing.case_id, filing.reason) == (joined_as, case_id, reason)


def test_a_new_matter_says_which_case_of_the_thread_it_is_not_part_of() -> None:
    filing = file_post(ROBBERY_ELSEWHERE, thread=[pothole_case()])
    assert filing == Filing(JoinedAs.FIRST, None, "new_matter", beside_case_id=1)


def test_of_two_cases_in_one_thread_a_post_joins_the_one_about_its_matter() -> None:
    robbery = Case(
        id=2,
        category="theft",
        status="assigned",
        posts=(CasePost("C3", "fb:ravi", T0 + timedelta(hours=2), "P", "theft"),),
        place=JAYANAGAR,
    )
    later = T0 + timedelta(hours=3)
    thread = [pothole_case(), robbery]
    assert file_post(post(Category.ROAD_INFRASTRUCTURE, created_at=later), thread=thread).case_id == 1
    assert file_post(post(Category.THEFT, created_at=later), thread=thread).case_id == 2
    assert file_post(post(Category.VIOLENCE, place=JAYANAGAR, created_at=later), thread=thread).case_id == 2
    # thanks go to the case he wrote in last; a reply to a comment goes to that comment's case
    assert file_post(post(Category.APPRECIATION, created_at=later), thread=thread).case_id == 2
    assert file_post(post(Category.APPRECIATION, created_at=later, in_reply_to_id="C1"), thread=thread).case_id == 1


@pytest.mark.parametrize(
    ("status", "merged_into", "joined_as", "case_id"),
    [
        ("closed", None, "followup", 1),  # the tracker decides whether it reopens
        ("action_taken", None, "followup", 1),
        ("referral", None, "followup", 1),
        ("rejected", None, "first", None),  # spam: the next post is judged on its own
        ("merged", 7, "followup", 7),  # to the case it was merged into
        ("merged", 8, "first", None),  # ...which was rejected
        ("merged", 9, "followup", 7),  # merged twice
        ("merged", 99, "first", None),  # into a case that is not there
    ],
)
def test_a_post_in_the_thread_of_a_finished_case(
    status: str, merged_into: int | None, joined_as: str, case_id: int | None
) -> None:
    targets = {
        7: pothole_case(id=7, posts=(), status="assigned"),
        8: pothole_case(id=8, posts=(), status="rejected"),
        9: pothole_case(id=9, posts=(), status="merged", merged_into_id=7),
    }
    thread = [pothole_case(status=status, merged_into_id=merged_into)]
    filing = file_post(post(Category.ROAD_INFRASTRUCTURE), thread=thread, cases=targets)
    assert (filing.joined_as, filing.case_id) == (joined_as, case_id)


def test_a_merge_loop_opens_a_case_instead_of_looping() -> None:
    loop = {2: pothole_case(id=2, posts=(), status="merged", merged_into_id=1)}
    thread = [pothole_case(status="merged", merged_into_id=2)]
    assert file_post(post(Category.ROAD_INFRASTRUCTURE), thread=thread, cases=loop).joined_as == "first"


H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("new", "case", "joined_as"),
    [
        (another_reporter(), pothole_case(), "incident"),
        (another_reporter(place=north_of(SILK_BOARD, 200)), pothole_case(), "incident"),
        (another_reporter(place=north_of(SILK_BOARD, 300)), pothole_case(), "first"),  # beyond 250 m
        (another_reporter(place=Place("silk board  junction")), pothole_case(), "incident"),  # the same name
        (another_reporter(place=Place("Jayanagar 4th Block")), pothole_case(), "first"),
        (another_reporter(place=NOWHERE), pothole_case(), "first"),  # no place, no incident
        (another_reporter(created_at=T0 + 6 * 24 * H), pothole_case(), "incident"),  # a pothole lasts days
        (another_reporter(created_at=T0 + 8 * 24 * H), pothole_case(), "first"),  # beyond its 7 days
        (another_reporter(author="fb:ravi"), pothole_case(), "first"),  # his own second report: not another
        (another_reporter(author=None), pothole_case(), "incident"),  # an unknown author is somebody else
        (another_reporter(Category.TRAFFIC_CONGESTION), pothole_case(), "first"),  # another category
        # a jam is one incident for hours, not days
        (
            another_reporter(Category.TRAFFIC_CONGESTION, created_at=T0 + 2 * H),
            pothole_case(category="traffic_congestion"),
            "incident",
        ),
        (
            another_reporter(Category.TRAFFIC_CONGESTION, created_at=T0 + 4 * H),
            pothole_case(category="traffic_congestion"),
            "first",
        ),
        # an accusation is personal: never part of an incident, either way
        (another_reporter(is_misconduct=True), pothole_case(), "first"),
        (another_reporter(), pothole_case(is_misconduct=True), "first"),
        (
            another_reporter(Category.OFFICER_MISCONDUCT, is_misconduct=True),
            pothole_case(category="officer_misconduct"),
            "first",
        ),
        # two thefts at one spot are two victims' cases
        (another_reporter(Category.THEFT), pothole_case(category="theft"), "first"),
        # only open cases gather reporters
        (another_reporter(), pothole_case(status="new"), "incident"),
        (another_reporter(), pothole_case(status="desk"), "incident"),
        (another_reporter(), pothole_case(status="reopen_requested"), "incident"),
        (another_reporter(), pothole_case(status="closed"), "first"),
        (another_reporter(), pothole_case(status="action_taken"), "first"),
        (another_reporter(), pothole_case(status="referral"), "first"),
        (another_reporter(), pothole_case(status="rejected"), "first"),
        (another_reporter(), pothole_case(status="merged"), "first"),
        # chatter never joins an incident
        (another_reporter(Category.APPRECIATION), pothole_case(category="appreciation"), "first"),
    ],
)
def test_another_reporter_of_one_incident(new: NewPost, case: Case, joined_as: str) -> None:
    filing = file_post(new, nearby=[case], incidents=POLICY)
    assert (filing.joined_as, filing.case_id) == (joined_as, case.id if joined_as == "incident" else None)


def test_no_incident_joining_without_a_policy() -> None:
    assert file_post(another_reporter(), nearby=[pothole_case()]).joined_as == "first"


def test_an_incident_is_joined_at_the_nearest_case_and_says_how_far() -> None:
    far = pothole_case(id=2, place=north_of(SILK_BOARD, 220))
    near = pothole_case(id=3, place=north_of(SILK_BOARD, 60))
    filing = file_post(another_reporter(place=north_of(SILK_BOARD, 100)), nearby=[far, near], incidents=POLICY)
    assert (filing.joined_as, filing.case_id, filing.reporters) == ("incident", 3, 2)
    assert filing.distance_m == pytest.approx(40, abs=1)


def test_a_follow_up_comes_before_an_incident() -> None:
    asha = pothole_case(id=2, posts=(CasePost("Q", "x:asha", T0, "Q", "road_infrastructure"),))
    filing = file_post(
        post(Category.ROAD_INFRASTRUCTURE, place=SILK_BOARD), thread=[pothole_case()], nearby=[asha], incidents=POLICY
    )
    assert (filing.joined_as, filing.case_id) == ("followup", 1)


def test_distances_are_metres_on_the_ground() -> None:
    assert distance_m(SILK_BOARD, north_of(SILK_BOARD, 300)) == pytest.approx(300, rel=0.01)
    assert distance_m(SILK_BOARD, JAYANAGAR) == pytest.approx(3_350, rel=0.05)  # about 3.3 km across
    assert distance_m(SILK_BOARD, Place("Silk Board Junction")) is None


def test_every_category_a_station_acts_on_has_a_window() -> None:
    assert set(DEFAULT_WINDOWS_H) == {c.value for c in Category if layer_for(c) is not None} - {"officer_misconduct"}
    assert POLICY.window(Category.ROAD_INFRASTRUCTURE) == timedelta(days=7)
    assert POLICY.window(Category.TRAFFIC_CONGESTION) == timedelta(hours=3)
    assert POLICY.window(Category.THEFT) is None
    assert POLICY.window(Category.OFFICER_MISCONDUCT) is None
    assert POLICY.window(Category.APPRECIATION) is None


def test_a_policy_from_config_keeps_the_defaults_it_does_not_name() -> None:
    policy = IncidentPolicy.from_mapping(
        {"radius_m": 400, "windows_h": {"traffic_congestion": 1.5, "road_infrastructure": 0}}
    )
    assert policy.radius_m == 400.0
    assert policy.window(Category.TRAFFIC_CONGESTION) == timedelta(hours=1.5)
    assert policy.window(Category.ROAD_INFRASTRUCTURE) is None  # 0: never
    assert policy.window(Category.ROAD_ACCIDENT) == timedelta(hours=DEFAULT_WINDOWS_H["road_accident"])
    assert IncidentPolicy.from_mapping({}) == IncidentPolicy()


def test_a_bad_policy_names_every_problem() -> None:
    raw = {
        "radius": 250,
        "radius_m": True,
        "windows_h": {"pothole": 24, "officer_misconduct": 2, "appreciation": 1, "theft": -1, "violence": "3h"},
    }
    with pytest.raises(ValueError) as caught:
        IncidentPolicy.from_mapping(raw)
    assert isinstance(caught.value, IncidentPolicyError)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "radius",
        "radius_m",
        "windows_h.pothole",
        "windows_h.officer_misconduct",
        "windows_h.appreciation",
        "windows_h.theft",
        "windows_h.violence",
    ]
    assert "unknown category" in problems[2] and "never joins an incident" in problems[3]
    assert all(p in str(caught.value) for p in problems)


@pytest.mark.parametrize("radius", [0, -5, 50_000, float("nan"), "250"])
def test_a_radius_must_be_a_sensible_number_of_metres(radius: object) -> None:
    with pytest.raises(ValueError, match="radius_m"):
        IncidentPolicy.from_mapping({"radius_m": radius})


def test_windows_in_config_must_be_a_table() -> None:
    with pytest.raises(ValueError, match="windows_h: must be a table"):
        IncidentPolicy.from_mapping({"windows_h": 24})
