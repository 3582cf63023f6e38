"""Kannada and Devanagari words in Latin letters, the way the city's place names are spelled.

``ಈಜಿಪುರದಲ್ಲಿ`` → ``ijipuradalli``, ``बसवेश्वरनगर`` → ``basaveshvaranagar``. The gazetteer holds few
names in Kannada or Hindi script; written in Latin letters, a post's place can be looked up like any
Kanglish or Hinglish one (exact, then fuzzy). Built on indic-transliteration's ITRANS scheme, then
flattened: no case, no long-vowel or retroflex marks, anusvara as the nasal it sounds like.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from indic_transliteration import sanscript

_KANNADA = re.compile("[\u0c80-\u0cff]")
_DEVANAGARI = re.compile("[\u0900-\u097f]")
# ITRANS digraphs that carry no more than their plain letter in a place name
_FLATTEN = (("RRi", "ri"), ("RRI", "ri"), ("~N", "n"), ("~n", "n"), (".N", "n"), (".n", "n"), (".h", ""),
            ("Sh", "sh"), ("ph", "f"), ("x", "ksh"), ("GY", "gy"))
_ANUSVARA = re.compile(r"M(?=[kgcjTDtdnNh])")  # ಕೋರಮಂಗಲ: the M of koramaMgala is an n


@lru_cache(maxsize=8192)
def romanise(word: str) -> str:
    """One word of Kannada or Devanagari script in plain lower-case Latin letters; other text unchanged
    but lower-cased. Mixed-script words keep only their letters."""
    if _KANNADA.search(word):
        text = sanscript.transliterate(word, sanscript.KANNADA, sanscript.ITRANS)
    elif _DEVANAGARI.search(word):
        text = sanscript.transliterate(word, sanscript.DEVANAGARI, sanscript.ITRANS)
        # Hindi drops the inherent vowel at the end of a word: सिल्क is "silk", not "silka"
        text = re.sub(r"(?<=[^aeiouAEIOU])a$", "", text)
    else:
        return word.lower()
    text = _ANUSVARA.sub("n", text)
    for digraph, plain in _FLATTEN:
        text = text.replace(digraph, plain)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"[^a-z]", "", text.lower())
    return re.sub(r"([aeiou])\1+", r"\1", text)  # aa, ii, uu: long vowels spelled short


_LOOSE = (("sh", "s"), ("th", "t"), ("dh", "d"), ("bh", "b"), ("kh", "k"), ("gh", "g"), ("ph", "f"), ("ch", "c"),
          ("w", "v"), ("z", "j"), ("e", "i"), ("o", "u"), ("y", "i"), ("ee", "i"), ("oo", "u"))
_DOUBLE = re.compile(r"(.)\1+")


@lru_cache(maxsize=65536)
def loose_key(word: str) -> str:
    """A spelling-blind key for Latin letters: the aspirates, e/i, o/u, w/v and doubled letters that
    transliteration and English spellings disagree on are folded, and a final a or u dropped
    ("ijipuradalli" and "Ejipura" stay apart, "ijipura" and "ejipura" meet as "ijipur")."""
    text = word.lower()
    for spelled, folded in _LOOSE:
        text = text.replace(spelled, folded)
    text = _DOUBLE.sub(r"\1", text)
    return text[:-1] if len(text) > 4 and text[-1] in "au" else text
