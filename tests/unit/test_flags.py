from __future__ import annotations

import pytest

from classifiers.features import normalise
from classifiers.flags import Cue, EmergencyRule, VipList, emergency_cue, is_vip


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
