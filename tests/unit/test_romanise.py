"""Kannada and Hindi script in Latin letters, and the places found through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.places import PlaceFinder
from classifiers.romanise import loose_key, romanise
from routing.jurisdictions import Jurisdictions

DATA = Path(__file__).resolve().parents[2] / "data" / "bengaluru"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("ಕೋರಮಂಗಲ", "koramangala"),  # anusvara before g is an n
        ("कोरमंगला", "koramangala"),
        ("ಹೊಸಕೆರೆಹಳ್ಳಿ", "hosakerehalli"),  # short e and o lose their marks, ಳ is an l
        ("ಈಜಿಪುರದಲ್ಲಿ", "eejipuradalli"),  # Kanglish doubles Kannada's long vowels
        ("सिल्क", "silk"),  # Hindi drops the final inherent vowel
        ("ಮಾರತ್ತಹಳ್ಳಿ", "maarattahalli"),
        ("फोन", "fon"),  # as Hinglish writes it
        ("ऑटो", "oto"),  # the English "o" ITRANS has no letter for
        ("नगर।", "nagar"),  # a danda is dropped
        ("KA01ಚೋರ", "KA01chora"),  # only the Indic letters change
        ("Koramangala", "Koramangala"),
        ("", ""),
        ("😀", "😀"),
    ],
)
def test_romanise_spells_indic_words_the_way_place_names_are_spelled(word: str, expected: str) -> None:
    assert romanise(word) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("eejipura", "ejipura"),
        ("basaveshvaranagara", "basaveshwaranagar"),
        ("hebbaala", "hebbal"),
        ("madivaala", "madiwala"),
        ("maarattahalli", "marathahalli"),
    ],
)
def test_loose_key_folds_spellings_that_transliteration_disagrees_on(a: str, b: str) -> None:
    assert loose_key(a) == loose_key(b)


@pytest.mark.parametrize(("a", "b"), [("makali", "makkalu"), ("jayanagar", "vijayanagar"), ("hoodi", "hebbal")])
def test_loose_key_keeps_different_names_apart(a: str, b: str) -> None:
    assert loose_key(a) != loose_key(b)


@pytest.fixture(scope="module")
def finder() -> PlaceFinder:
    return PlaceFinder.load(DATA, Jurisdictions.load(DATA))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ಈಜಿಪುರದಲ್ಲಿ ಡೆಲಿವರಿ ಹುಡುಗನ ಮೇಲೆ ಹಲ್ಲೆ", "Ejipura"),  # case ending joined on, vowel spelled loosely
        ("ಹೊಸಕೆರೆಹಳ್ಳಿ ಬಳಿ ಒಬ್ಬ ಅಜ್ಜ ಅಲೆದಾಡುತ್ತಿದ್ದಾರೆ", "Hosakerehalli"),
        ("ಕಾರು KA 02 MP 6612. ಬಸವೇಶ್ವರನಗರ. ಟೋ ಮಾಡಿ", {"Basaveshwara Nagar", "Basaveshwara Nagara"}),
        ("मराठहल्ली में जाम", {"Marathahalli", "Marathahalli Bridge"}),
        ("व्हाइटफील्ड में चोरी", "Whitefield"),
        # everyday words that sound like a place name stay words
        ("ಮಕ್ಕಳು ಆಟವಾಡಲು ಆಗುತ್ತಿಲ್ಲ", None),
        ("हाहा ये मीम तो कमाल का है", None),
        ("ಕಳೆದುಹೋಗಿದ್ದ ಮೊಬೈಲ್ ಹುಡುಕಿ ಕೊಟ್ಟ ಬೆಂಗಳೂರು ನಗರ ಪೊಲೀಸರಿಗೆ ಧನ್ಯವಾದಗಳು", None),
        ("शराब के ठेके के बाहर एक आदमी चाकू लेकर धमका रहा है", None),
    ],
)
def test_places_written_in_kannada_or_hindi_script_are_found(
    finder: PlaceFinder, text: str, expected: str | set[str] | None
) -> None:
    match = finder.find(text)
    name = match.name if match else None
    assert (name is None) if expected is None else (name in ({expected} if isinstance(expected, str) else expected))


def test_a_name_spelled_exactly_as_written_beats_a_spacing_variant(finder: PlaceFinder) -> None:
    # "Kalyannagar" (a bus stop) and "Kalyan Nagar" (a ward) share a compact key but lie in different stations
    match = finder.find("heavy traffic jam at Kalyannagar since morning")
    assert match is not None and match.name == "Kalyannagar"


def test_an_alias_variant_does_not_outrank_the_place_of_the_same_name(finder: PlaceFinder) -> None:
    # the alias "Shivajinagar bus stand" must not turn plain "Shivajinagar" into the bus stand
    match = finder.find("heavy traffic jam at Shivajinagar since morning")
    assert match is not None and match.name == "Shivajinagar"
