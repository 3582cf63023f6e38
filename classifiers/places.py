"""Find the place a post is about, and the station responsible for it.

Matching runs in passes over the normalised tokens, exact before approximate: spaCy's PhraseMatcher
over every gazetteer surface; n-grams whose letters alone equal a surface ("Jaya nagar", "KRPuram");
Kanglish case endings ("Hebbaldalli"); Kannada and Hindi words with case endings attached; and last,
rapidfuzz on the tokens still unexplained, for misspellings ("Kormangala"). When a post names several
places, ``problem_score`` decides which one the problem is at.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import spacy
from rapidfuzz import fuzz, process
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from classifiers import gazetteer as gz
from classifiers.romanise import loose_key, romanise
from classifiers.stations import StationMap
from models.taxonomy import Layer

logger = logging.getLogger(__name__)

FUZZY_MIN_SCORE = 88.0  # tuned on tests/unit/test_places.py's misspelling and trap tables
FUZZY_MIN_LENGTH = 6
MAX_NGRAM = 4
# Kannada case endings written in Latin letters and joined on: "Hebbaldalli" (in Hebbal), "Majesticnalli".
_KANGLISH_ENDING = re.compile(r"\w{3}(dalli|nalli|yalli|ralli|alli|dinda|ninda|inda|kke|ige|ge)$")
# the same endings as they come out of Kannada script: ದಲ್ಲಿ, ಅಲ್ಲಿ, ದಿಂದ, ದ (of), ಕ್ಕೆ, ಗೆ, ರಸ್ತೆ (road)
_ROMAN_ENDING = re.compile(r"\w{4}(dalli|nalli|yalli|ralli|alli|dinda|ninda|inda|dallina|da|na|kke|ige|ge|rasthe|raste)$")
ROMAN_MIN_SCORE = 90.0  # on loose keys, where "ijipura" and "ejipura" are already the same
_SOURCE_SCORE = {gz.Source.ALIAS: 100.0, gz.Source.NAME: 100.0, gz.Source.VARIANT: 95.0, gz.Source.STATION: 90.0}
_NOT_PLACE_WORDS = frozenset(STOP_WORDS) | frozenset(
    """hai hain pe par mein mai nahi kya bhai yaar please pls plz sir madam mam ji kar karo raha rahe tha
    aagide agide ide illi alli guru swalpa maadi beku jam traffic police signal road accident people
    vehicles vehicle bangalore bengaluru namma blr""".split()
)


@dataclass(frozen=True)
class PlaceMatch:
    name: str
    kind: str
    lat: float
    lon: float
    law_order_station: str | None
    traffic_station: str | None
    matched_text: str
    score: float  # 0..100: how sure the text names this place


@dataclass(frozen=True)
class _Mention:
    start: int  # token indices, end exclusive
    end: int
    surface: gz.Surface
    score: float


class PlaceFinder:
    """Built once at start-up from the deployment's data folder; ``find`` is then pure and fast."""

    def __init__(self, surfaces: Sequence[gz.Surface]) -> None:
        self._nlp = spacy.blank("xx")
        self._by_key: dict[str, list[gz.Surface]] = defaultdict(list)
        for surface in surfaces:
            if gz.usable(surface):
                self._by_key[gz.compact(surface.text)].append(surface)
        for candidates in self._by_key.values():
            candidates.sort(key=lambda s: s.rank)
        texts = sorted({s.text for group in self._by_key.values() for s in group})
        self._matcher = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._matcher.add("PLACE", [self._nlp.make_doc(text) for text in texts])
        self._indic: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        by_size: dict[tuple[str, int], set[str]] = defaultdict(set)
        for text in texts:
            words = tuple(text.split())
            best = self._by_key[gz.compact(text)][0]
            if gz.is_indic(text):
                self._indic[gz.indic_stem(words[0]) if len(words) == 1 else words[0]].append(words)
            elif not best.needs_cue and not any(c.isdigit() for c in text):
                key = gz.compact(text)
                if len(key) >= FUZZY_MIN_LENGTH:
                    by_size[(key[0], len(key))].add(key)
        # Spelling-blind keys of the same surfaces, for names written in Kannada or Hindi script.
        self._loose: dict[str, str] = {}
        for key in sorted({k for group in by_size.values() for k in group}, key=lambda k: (len(k), k)):
            self._loose.setdefault(loose_key(key), key)
        loose_by_size: dict[tuple[str, int], set[str]] = defaultdict(set)
        for loose in self._loose:
            loose_by_size[(_initial(loose), len(loose))].add(loose)
        # for a loose key of length n: the keys of length n-1..n+1 that start alike (any vowel with any vowel)
        self._loose_choices: dict[tuple[str, int], list[str]] = {
            (first, size): sorted(k for delta in range(-1, 2) for k in loose_by_size.get((first, size + delta), ()))
            for first, size in {(f, n + d) for f, n in loose_by_size for d in range(-1, 2)}
        }
        # For a query of length n, the surfaces of length n-2..n+2 with the same first letter.
        self._fuzzy_choices: dict[tuple[str, int], list[str]] = {
            (first, size): sorted(k for delta in range(-2, 3) for k in by_size.get((first, size + delta), ()))
            for first, size in {(f, n + d) for f, n in by_size for d in range(-2, 3)}
        }

    @classmethod
    def load(cls, data_dir: Path, jurisdictions: StationMap) -> PlaceFinder:
        started_at = time.perf_counter()
        places = gz.read_places(data_dir / "places.csv")
        surfaces = gz.place_surfaces(places) + gz.station_surfaces(jurisdictions)
        aliases = data_dir / "aliases.csv"
        if aliases.exists():
            surfaces += gz.read_aliases(aliases, places, jurisdictions)
        finder = cls(surfaces)
        logger.info(
            "places: %d places, %d surfaces loaded in %.0f ms",
            len(places),
            len(finder._by_key),
            (time.perf_counter() - started_at) * 1000,
        )
        return finder

    def find(self, text: str) -> PlaceMatch | None:
        matches = self.find_all(text)
        return matches[0] if matches else None

    def find_all(self, text: str) -> list[PlaceMatch]:
        normal, origin = gz.normalise(text)
        doc = self._nlp.make_doc(normal)
        words = [token.lower_ for token in doc]
        mentions = [
            m for m in self._mentions(doc, words) if not m.surface.needs_cue or has_location_cue(words, m.start, m.end)
        ]
        groups = _adjacent_groups(mentions)
        groups.sort(key=lambda g: (-(problem_score(words, g[0].start, g[-1].end) + _specificity(_pick(g).surface)), g[0].start))
        results: dict[str, PlaceMatch] = {}
        for group in groups:
            mention, first, last = _pick(group), doc[group[0].start], doc[group[-1].end - 1]
            place = mention.surface.place
            results.setdefault(
                place.name,
                PlaceMatch(
                    name=place.name,
                    kind=place.kind,
                    lat=place.lat,
                    lon=place.lon,
                    law_order_station=place.law_order_station,
                    traffic_station=place.traffic_station,
                    matched_text=text[origin[first.idx] : origin[last.idx + len(last) - 1] + 1],
                    score=round(mention.score, 1),
                ),
            )
        return list(results.values())

    def _mentions(self, doc: Doc, words: Sequence[str]) -> list[_Mention]:
        """Non-overlapping mentions, exact passes first; within a pass the longest span wins."""
        found: list[_Mention] = []
        covered: set[int] = set()

        def keep(candidates: list[_Mention]) -> None:
            for mention in sorted(candidates, key=lambda m: (m.start - m.end, -m.score, m.start)):
                span = set(range(mention.start, mention.end))
                if not span & covered:
                    covered.update(span)
                    found.append(mention)

        exact = [m for _, start, end in self._matcher(doc) for m in self._mentions_for(words, start, end, 0.0)]
        keep(exact + self._compact_mentions(words))
        keep(self._indic_mentions(words, covered))
        keep(self._romanised_mentions(words, covered))
        keep(self._fuzzy_mentions(words, covered))
        return sorted(found, key=lambda m: m.start)

    def _mentions_for(
        self, words: Sequence[str], start: int, end: int, penalty: float, key: str = ""
    ) -> list[_Mention]:
        """The mention of ``words[start:end]`` as the best surface under ``key``, or none."""
        candidates = self._by_key.get(key or gz.compact("".join(words[start:end])))
        if not candidates:
            return []
        written = " ".join(words[start:end])
        # Spelled exactly as written first ("Kalyannagar" is that stop, not the "Kalyan Nagar" ward), then
        # a curated alias (it may correct a misleading 2022 ward of the same name), then the usual rank.
        best = min(candidates, key=lambda s: (s.text != written, s.source is not gz.Source.ALIAS, s.rank))
        if best.needs_cue and any(not s.needs_cue for s in candidates):
            best = replace(best, needs_cue=False)  # a curated alias vouches for "Tin Factory" without "near"
        return [_Mention(start, end, best, max(0.0, _SOURCE_SCORE[best.source] - penalty))]

    def _compact_mentions(self, words: Sequence[str]) -> list[_Mention]:
        """Spacing variants ("Jaya nagar", "K R Puram") and Kanglish endings ("Hebbaldalli")."""
        mentions: list[_Mention] = []
        wordlike = [gz.is_wordlike(w) for w in words]
        endings = [_KANGLISH_ENDING.search(w) if w.isascii() else None for w in words]
        for start in range(len(words)):
            joined = ""
            for end in range(start + 1, min(start + MAX_NGRAM, len(words)) + 1):
                if not wordlike[end - 1]:
                    break
                joined += words[end - 1]
                if end - start > 1 and len(joined) >= 5 and joined in self._by_key:
                    mentions.extend(self._mentions_for(words, start, end, 3.0, joined))
                ending = endings[end - 1]
                if ending is not None:
                    stem = joined[: len(joined) - len(ending.group(1))]
                    if len(stem) >= 5 and stem in self._by_key:
                        mentions.extend(self._mentions_for(words, start, end, 5.0, stem))
        return mentions

    def _indic_mentions(self, words: Sequence[str], covered: set[int]) -> list[_Mention]:
        """Kannada/Hindi names with case endings joined on: ಕೋರಮಂಗಲದಲ್ಲಿ, ಬೆಳ್ಳಂದೂರಿನ."""
        mentions: list[_Mention] = []
        for start, word in enumerate(words):
            if start in covered or not gz.is_indic(word):
                continue
            for length in range(len(word), 1, -1):
                for surface_words in self._indic.get(word[:length], ()):
                    end = start + len(surface_words)
                    if end > len(words) or not _indic_fits(words[start:end], surface_words):
                        continue
                    key = gz.compact("".join(surface_words))
                    mentions.extend(self._mentions_for(words, start, end, 3.0, key))
        return mentions

    def _romanised_mentions(self, words: Sequence[str], covered: set[int]) -> list[_Mention]:
        """Kannada and Hindi script names the gazetteer does not hold in that script, looked up in Latin
        letters: ಈಜಿಪುರದಲ್ಲಿ → "ijipura" ≈ Ejipura, ಬಸವೇಶ್ವರನಗರ → "basaveshvaranagara" ≈ Basaveshwara Nagar."""
        roman = [romanise(w) if i not in covered and gz.is_indic(w) else "" for i, w in enumerate(words)]
        mentions: list[_Mention] = []
        if not any(roman):
            return mentions
        for start in range(len(words)):
            joined = ""
            for end in range(start + 1, min(start + 3, len(words)) + 1):
                if not roman[end - 1]:
                    break
                joined += roman[end - 1]
                has_ending = _ROMAN_ENDING.search(joined) is not None  # ಈಜಿಪುರದಲ್ಲಿ: "in Ejipura"
                for form in _roman_forms(joined):
                    if len(form) >= 5 and form in self._by_key:
                        mentions.extend(self._mentions_for(words, start, end, 4.0, form))
                        break
                    # a loose or fuzzy hit counts only for a long name or one the sentence places
                    is_cued = len(form) >= 9 or has_ending or _has_strong_cue(words, start, end)
                    if len(form) < 7 or not is_cued:
                        continue
                    loose = loose_key(form)
                    key = self._loose.get(loose, "")
                    if key:
                        mentions.extend(self._mentions_for(words, start, end, 6.0, key))
                        break
                    choices = self._loose_choices.get((_initial(loose), len(loose)), ())
                    best = process.extractOne(loose, choices, scorer=fuzz.ratio, score_cutoff=ROMAN_MIN_SCORE)
                    if best is not None:
                        penalty = 100.0 - float(best[1]) + 8.0
                        mentions.extend(self._mentions_for(words, start, end, penalty, self._loose[best[0]]))
                        break
        return mentions

    def _fuzzy_mentions(self, words: Sequence[str], covered: set[int]) -> list[_Mention]:
        """Misspellings: n-grams of uncovered, non-stop words against surfaces of similar length."""
        mentions: list[_Mention] = []
        candidate = [w.isalpha() and w.isascii() and i not in covered for i, w in enumerate(words)]
        for start in range(len(words)):
            query = ""
            for end in range(start + 1, min(start + 3, len(words)) + 1):
                if not candidate[end - 1]:
                    break
                query += words[end - 1]
                if words[end - 1] in STOP_WORDS or words[start] in _NOT_PLACE_WORDS:
                    break  # "KMs to hospital" is no "Kims Hospital"
                if len(query) < FUZZY_MIN_LENGTH:
                    continue
                choices = self._fuzzy_choices.get((query[0], len(query)), ())
                best = process.extractOne(query, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE)
                if best is not None:
                    mentions.extend(self._mentions_for(words, start, end, 100.0 - float(best[1]) + 5.0, best[0]))
        return mentions


def _initial(loose: str) -> str:
    """Vowels at the start of a name are the least stable letter across scripts: ಈಜಿಪುರ → "ijipura"."""
    return "aeiou" if loose[:1] in ("a", "e", "i", "o", "u") else loose[:1]


@lru_cache(maxsize=16384)
def _roman_forms(word: str) -> tuple[str, ...]:
    """A romanised word without the case ending Kannada joins on, with and without its final vowel."""
    match = _ROMAN_ENDING.search(word)
    forms: list[str] = []
    for form in (word, word[: match.start(1)] if match else word):
        forms.append(form)
        if form[-1:] in ("a", "u") and len(form) > 5:
            forms.append(form[:-1])
    return tuple(dict.fromkeys(forms))


# Words around a mention that say "the problem is here" or "this is just where I live / came from".
_BEFORE = {
    **dict.fromkeys(["at", "near", "nr", "opp", "opposite", "beside", "behind", "outside"], 2.0),
    **dict.fromkeys(["around"], 1.5),
    **dict.fromkeys(["in", "on", "inside"], 1.0),
    **dict.fromkeys(["to", "till", "until", "upto", "via", "towards"], -1.0),
    "from": -3.0,
}
_BEFORE_PAIRS = {
    **dict.fromkeys([("next", "to"), ("close", "to"), ("front", "of")], 2.0),
    **dict.fromkeys(
        [("live", "in"), ("living", "in"), ("stay", "in"), ("staying", "in"), ("reside", "in"), ("residing", "in"),
         ("resident", "of"), ("native", "of"), ("moved", "from"), ("shifted", "from"), ("am", "from")],
        -4.0,
    ),
}
_AFTER = {
    **dict.fromkeys(
        ["signal", "signals", "junction", "jn", "circle", "cross", "flyover", "bridge", "underpass", "stop", "bus",
         "metro", "main", "gate", "ಸಿಗ್ನಲ್", "ಜಂಕ್ಷನ್"],
        2.0,
    ),
    **dict.fromkeys(["road", "rd", "pe", "par", "mein", "hatra", "hathra", "bali", "alli", "ಬಳಿ", "ಹತ್ತಿರ", "पर", "में"], 1.5),
    **dict.fromkeys(["me", "mai", "side", "area", "ke", "traffic", "के"], 1.0),
    **dict.fromkeys(["tak", "varege"], -1.0),
    **dict.fromkeys(["se", "inda", "ninda", "dinda", "से"], -3.0),  # "Hebbal se ...": where they came from
}
_PROBLEM_WORDS = frozenset(
    """jam jammed traffic accident accidents crash crashed collision collided stuck blocked blocking pothole
    potholes gridlock standstill congestion congested chaos waterlogging waterlogged flooded flooding theft
    stolen stole robbed robbery snatched snatching snatcher fight fighting assault assaulted attacked
    harassment harassed harassing molested drunk rash speeding overspeeding parked parking wrongside honking
    noise fire towed towing bribe bribery missing hit injured dead died broken breakdown signal
    ಅಪಘಾತ ಟ್ರಾಫಿಕ್ ಜಾಮ್ ಕಳ್ಳತನ जाम हादसा दुर्घटना चोरी ट्रैफिक""".split()
)
_LOCATION_CUES = frozenset(k for k, v in (_BEFORE | _AFTER).items() if v > 0)


def problem_score(words: Sequence[str], start: int, end: int) -> float:
    """How strongly the words around ``words[start:end]`` say the problem is at that place.

    Positive: a location word right before ("at", "near", "opp") or after ("signal", "junction",
    "pe", "hatra"), and a problem word ("jam", "accident", "stolen") within a few words. Negative:
    where the writer lives or comes from ("live in", "from", "se", "inda"). Pure; tested by table.
    """
    score = 0.0
    before = words[start - 1] if start >= 1 else ""
    pair = (words[start - 2], before) if start >= 2 else ("", "")
    score += _BEFORE_PAIRS.get(pair, _BEFORE.get(before, 0.0))
    if end < len(words):
        score += _AFTER.get(words[end], 0.0)
    distances = [start - i for i in range(max(0, start - 6), start) if words[i] in _PROBLEM_WORDS]
    distances += [i - end + 1 for i in range(end, min(len(words), end + 6)) if words[i] in _PROBLEM_WORDS]
    if distances:
        score += 1.5 if min(distances) <= 3 else 0.75
    return score


def _has_strong_cue(words: Sequence[str], start: int, end: int) -> bool:
    """ "near", "at", "signal", ಬಳಿ, में right next to the mention; not the weak "ke", "me"."""
    before = words[start - 1] if start >= 1 else ""
    after = words[end] if end < len(words) else ""
    return _BEFORE.get(before, 0.0) >= 1.0 or _AFTER.get(after, 0.0) >= 1.5


def has_location_cue(words: Sequence[str], start: int, end: int) -> bool:
    """A word next to the mention that only makes sense after or before a place."""
    before = words[start - 1] if start >= 1 else ""
    after = words[end] if end < len(words) else ""
    pair = (words[start - 2], before) if start >= 2 else ("", "")
    return before in _LOCATION_CUES or after in _LOCATION_CUES or _BEFORE_PAIRS.get(pair, 0.0) > 0


def _indic_fits(words: Sequence[str], surface_words: Sequence[str]) -> bool:
    *head, last = surface_words
    return list(words[: len(head)]) == head and words[len(head)].startswith(gz.indic_stem(last))


def _adjacent_groups(mentions: Sequence[_Mention]) -> list[list[_Mention]]:
    """Mentions with nothing between them describe one place at two scales ("Koramangala Sony signal")."""
    groups: list[list[_Mention]] = []
    for mention in mentions:
        if groups and groups[-1][-1].end == mention.start:
            groups[-1].append(mention)
        else:
            groups.append([mention])
    return groups


def _pick(group: Sequence[_Mention]) -> _Mention:
    """The most precise mention of a group: a stop or landmark over an area, anything over a long road."""
    return max(group, key=lambda m: (not m.surface.is_vague, _specificity(m.surface), m.score, -m.start))


def _specificity(surface: gz.Surface) -> float:
    """A junction or stop says more than an area; a long road pinned to one point says less."""
    if surface.is_vague:
        return -1.0
    return {"bus_stop": 0.3, "landmark": 0.3, "station_area": -0.5}.get(surface.place.kind, 0.0)


def station_for(
    layer: Layer | None,
    place: PlaceMatch | None,
    lat: float | None,
    lon: float | None,
    jurisdictions: StationMap,
) -> str | None:
    """The station of ``layer`` responsible: the post's own coordinates when they fall inside the
    city's boundaries, else the named place's station; None when no station acts or nothing is known."""
    if layer is None:
        return None
    if lat is not None and lon is not None:
        station = jurisdictions.station_at(lat, lon, layer)
        if station is not None:
            return station
    if place is None:
        return None
    return place.traffic_station if layer is Layer.TRAFFIC else place.law_order_station
