from __future__ import annotations

import pytest

from classifiers.features import normalise
from classifiers.flags import Cue, EmergencyRule, VipList, emergency_cue, is_missing_child, is_urgent, is_vip
from classifiers.pipeline import emergency_for
from models.taxonomy import Category


@pytest.mark.parametrize(
    "text",
    [
        "Accident at Hebbal flyover, rider BLEEDING badly, pls send ambulance",
        "two guys are beating a man with rods outside the bar right now",
        "@BlrCityPolice my 6 yr old son is missing from the park since 20 mins",
        "a man is following me since the metro station, I'm scared, help right now",
        "bhai koi bachao, ek aadmi chaku leke khada hai",
        "मेरी बेटी स्कूल से घर नहीं आई, बच्ची गायब है",
        "ಅಪಘಾತ, ಒಬ್ಬರಿಗೆ ರಕ್ತ ಬರುತ್ತಿದೆ",
        "guru illi ondu hudugi kaanthilla, magu missing",
        "Cứu với! Có người bị đâm ở ngõ 12 Cầu Giấy",
        "Tai nạn ở Ngã Tư Sở, một người bất tỉnh",
    ],
)
def test_emergency_phrases_are_found_in_every_language(text: str) -> None:
    assert emergency_cue(normalise(text)) is Cue.PHRASE


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("minor accident at Silk Board, no one injured but traffic is stuck", Cue.NEGATED),
        ("bike vs auto at Frazer Town, both r fine, crowd forming", Cue.NEGATED),
        ("cab ko bus ne maara KR Puram pe, hum theek hain", Cue.NEGATED),
        ("Không ai bị thương nhưng xe bị hỏng", Cue.NEGATED),
        ("the missing boy has been found, thank you police", Cue.NEGATED),
        ("Pothole on 80 ft road is huge, fix it", Cue.NONE),
        ("Thanks @blrcitytraffic for clearing the jam so quickly 🙏", Cue.NONE),
    ],
)
def test_ordinary_and_negated_posts_get_no_phrase_cue(text: str, cue: Cue) -> None:
    assert emergency_cue(normalise(text)) is cue


@pytest.mark.parametrize(
    ("probability", "cue", "expected"),
    [
        (0.7, Cue.NONE, True),
        (0.4, Cue.NONE, False),
        (0.4, Cue.PHRASE, True),
        (0.1, Cue.PHRASE, False),
        (0.7, Cue.NEGATED, False),
        (0.9, Cue.NEGATED, True),
    ],
)
def test_emergency_rule_needs_less_evidence_with_a_phrase_and_more_when_negated(
    probability: float, cue: Cue, expected: bool
) -> None:
    rule = EmergencyRule(threshold=0.6, phrase_threshold=0.3, negated_threshold=0.8)
    assert rule.decide(probability, cue) is expected


VIPS = VipList.of(handles=["@CMofKarnataka", "HMOIndia"], page_ids=["1234567890"])


@pytest.mark.parametrize(
    ("author", "text", "referenced", "expected"),
    [
        ("cmofkarnataka", "Please look into the waterlogging at Silk Board", (), True),
        ("@CMOFKARNATAKA", "...", (), True),
        ("1234567890", "Post from the minister's page", (), True),
        ("citizen42", "reply to the minister", ("HMOIndia",), True),
        ("citizen42", "quoting a post", ("1234567890",), True),
        ("citizen42", "RT @CMofKarnataka: Take action on the chain snatching in Jayanagar", (), True),
        ("citizen42", "Bike theft in HSR layout via @HMOIndia", (), True),
        ("citizen42", "@CMofKarnataka flagged the illegal parking at Koramangala", (), True),
        ("citizen42", "@CMofKarnataka @blrcitytraffic potholes everywhere, fix it", (), False),
        ("citizen42", "@HMOIndia sir please help, my bike got stolen", (), False),
        ("citizen42", "RT @someone: jam at Hebbal", ("someone",), False),
        (None, "", (), False),
    ],
)
def test_is_vip(author: str | None, text: str, referenced: tuple[str, ...], expected: bool) -> None:
    assert is_vip(author, author, text, referenced, VIPS) is expected


def test_a_vip_list_built_directly_from_config_is_normalised_too() -> None:
    vip = VipList(handles=frozenset({"@CMofKarnataka "}), page_ids=frozenset({" 1234567890"}))
    assert vip.handles == frozenset({"cmofkarnataka"})
    assert is_vip("CMOFKARNATAKA", None, "", (), vip)
    assert is_vip(None, "1234567890", "", (), vip)


def test_an_empty_vip_list_makes_nobody_vip() -> None:
    assert not is_vip("CMofKarnataka", None, "RT @CMofKarnataka: hi", ("HMOIndia",), VipList())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plz help!! my sis 15yrs hasnt come from tuition in vijayanagar, its 9pm", True),
        ("my niece (13) didn't return from school today", True),
        ("We lost our 4 yr old at Lalbagh flower show near the glass house", True),
        ("a boy abt 12 is sitting alone in our bus, says he ran away from home", True),
        ("Please RT: 14 year old boy missing from Yelahanka since yesterday evening", True),  # "yesterday" is no relief
        ("मेरा 8 साल का बच्चा पार्क से गायब है", True),
        ("ನಮ್ಮ ಮಗು ಶಾಲೆಯಿಂದ ಮನೆಗೆ ಬಂದಿಲ್ಲ", True),
        ("my son (21) has not come home for two days, phone switched off", False),  # an adult
        ("the 10 year old boy who went missing was found at the bus stand, thank you", False),  # found
        ("my brother missing since 3 days, last seen near Hebbal flyover", False),
        ("my son is 25 years old and missing since Monday", False),
    ],
)
def test_a_missing_child_not_yet_found_is_recognised(text: str, expected: bool) -> None:
    assert is_missing_child(normalise(text)) is expected


@pytest.mark.parametrize(
    ("category", "probability", "text", "expected"),
    [
        # no police action asked for: never an emergency, whatever the words
        (Category.APPRECIATION, 0.95, "salute to the Hoysala crew who did CPR when my neighbour collapsed", False),
        (Category.OTHER, 0.9, "news: building collapsed in Pune, 4 injured", False),
        (Category.INFORMATION_REQUEST, 0.9, "how do I report an accident where someone is injured?", False),
        # a missing child is an emergency even when the model is unsure
        (Category.MISSING_PERSON, 0.05, "my daughter 9 yrs not back from school", True),
        (Category.MISSING_PERSON, 0.05, "my father 70 not back from the bank", False),
        # otherwise the model and the phrase layer decide
        (Category.ROAD_ACCIDENT, 0.3, "bike hit by a bus at silk board, he is bleeding", True),
        (Category.ROAD_ACCIDENT, 0.3, "minor scrape at silk board, both of us are fine", False),
    ],
)
def test_emergency_for_weighs_the_category(category: Category, probability: float, text: str, expected: bool) -> None:
    assert emergency_for(category, probability, normalise(text), EmergencyRule()) is expected


@pytest.mark.parametrize(
    ("category", "text", "expected"),
    [
        (Category.CIVIC_REFERRAL, "@RailMinIndia it's a medical emergency. Can we get a doctor. Senior citizen", True),
        (Category.ROAD_ACCIDENT, "Cab on fire opposite Eros Hotel Nehru Place. Road closed. @dtptraffic", True),
        (Category.VIOLENCE, "decoits attacked the train near barwadeah, persons injured in loot n firing", True),
        (Category.MISSING_PERSON, "families unable to trace him. Not picking his call for last 3 hours", True),
        (Category.CYBERCRIME, "This guy wants to kill me. Track his IP address and arrest him", True),
        # negated, or a category that is never an emergency: the urgent words alone do not flag it
        (Category.ROAD_INFRASTRUCTURE, "one car which caught fire last week is still lying near akshardham", False),
        (Category.OTHER, "Three dead, 22 injured in a huge fire in Sunlight Colony: DCP South East", False),
        (Category.APPRECIATION, "Fire broke out in the building next to me. So impressed with @DelhiPolice", False),
        (Category.CIVIC_REFERRAL, "the fire extinguisher in coach B2 is missing, please replace it", False),
    ],
)
def test_urgent_phrases_flag_an_emergency_whatever_the_probability(
    category: Category, text: str, expected: bool
) -> None:
    assert is_urgent(normalise(text)) is (expected or category in (Category.OTHER, Category.APPRECIATION))
    assert emergency_for(category, 0.0, normalise(text), EmergencyRule()) is expected
