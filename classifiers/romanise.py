"""Kannada and Devanagari words in Latin letters, spelled the way people write Kanglish and Hinglish.

``चोरी`` → ``chori``, ``ಕಳ್ಳತನ`` → ``kallatana``, ``ಈಜಿಪುರದಲ್ಲಿ`` → ``eejipuradalli``. The category model
reads both spellings of a word as one (its char n-grams meet), and the place finder looks up names the
gazetteer holds only in Latin letters. Built on indic-transliteration's ITRANS scheme, then flattened to
everyday spelling: no case or retroflex marks, Hindi long vowels single and its final inherent vowel
dropped ("chor"), Kannada long vowels doubled and its final vowel kept ("kalla"), anusvara as n.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from indic_transliteration import sanscript

_KANNADA = re.compile("[\u0c80-\u0cff]")
# ITRANS spellings → everyday ones, longest first; applied before lower-casing (case carries meaning)
_EVERYDAY = (
    ("RRi", "ri"), ("RRI", "ri"), ("kSh", "ksh"), ("~N", "n"), ("~n", "n"), (".N", "n"), (".n", "n"), (".h", ""),
    (".Dh", "dh"), (".D", "d"), ("Ch", "chh"), ("Sh", "sh"), ("M", "n"), ("H", "h"), ("GY", "gy"), ("x", "ksh"),
    ("ph", "f"), ("q", "k"),  # फोन, ಫುಟ್‌ಪಾತ್, क़ानून: "fon", "futpaat", "kanun"
)
_ENGLISH_O = str.maketrans({"\u0911": "\u0913", "\u0949": "\u094b"})  # ऑ ॉ → ओ ो
_LONG_VOWELS_KANNADA = (("A", "aa"), ("I", "ee"), ("U", "oo"), ("ii", "ee"), ("uu", "oo"))
_LONG_VOWELS_HINDI = (("A", "a"), ("I", "i"), ("U", "u"), ("ii", "i"), ("uu", "u"), ("aa", "a"))


_INDIC_RUN = re.compile("[\u0900-\u097f\u0c80-\u0cff\u200c\u200d]+")


@lru_cache(maxsize=16384)
def romanise(word: str) -> str:
    """Every run of Kannada or Devanagari letters in ``word`` in plain lower-case Latin (a danda or a
    zero-width joiner inside it is dropped); other characters come back unchanged ("KA01ಚೋರ" → "KA01chora")."""
    return _INDIC_RUN.sub(lambda run: _romanise_run(run.group()), word)


def _romanise_run(run: str) -> str:
    is_kannada = _KANNADA.search(run) is not None
    scheme = sanscript.KANNADA if is_kannada else sanscript.DEVANAGARI
    run = run.translate(_ENGLISH_O)  # ऑटो: the "o" of English loans, which ITRANS leaves out
    text = sanscript.transliterate(run, scheme, sanscript.ITRANS)
    text = re.sub(r"[^A-Za-z~.\u0300-\u036f]", "", unicodedata.normalize("NFD", text))
    text = "".join(c for c in text if not unicodedata.combining(c))  # Kannada short e, o: è, ò
    if not is_kannada:
        text = re.sub(r"(?<=[^aeiouAEIOU])a$", "", text)  # चोर is "chor", not "chora"
    for spelled, everyday in _EVERYDAY:
        text = text.replace(spelled, everyday)
    for spelled, everyday in _LONG_VOWELS_KANNADA if is_kannada else _LONG_VOWELS_HINDI:
        text = text.replace(spelled, everyday)
    return re.sub(r"[^a-z]", "", text.lower())


_LOOSE = (("sh", "s"), ("th", "t"), ("dh", "d"), ("bh", "b"), ("kh", "k"), ("gh", "g"), ("ph", "f"), ("ch", "c"),
          ("w", "v"), ("z", "j"), ("e", "i"), ("o", "u"), ("y", "i"))
_DOUBLE = re.compile(r"(.)\1+")


@lru_cache(maxsize=65536)
def loose_key(word: str) -> str:
    """A spelling-blind key for Latin letters: the aspirates, e/i, o/u, w/v and doubled letters that
    transliteration and English spellings disagree on are folded, and a final a or u dropped
    ("ijipuradalli" and "Ejipura" stay apart, "eejipura" and "ejipura" meet as "ijipur")."""
    text = word.lower()
    for spelled, folded in _LOOSE:
        text = text.replace(spelled, folded)
    text = _DOUBLE.sub(r"\1", text)
    return text[:-1] if len(text) > 4 and text[-1] in "au" else text
