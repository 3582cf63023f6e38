"""The classifier as the bot uses it: load once, then classify posts in batches.

For each post: category with a calibrated confidence, the emergency and VIP flags, the place named in
the text and the station responsible for it in the category's layer. Bad input never raises; very long
posts are cut for the model. A post the model cannot read (see :class:`Legibility`: empty, emoji only,
only handles and links, or written in a script the model was not trained on) comes back as ``other`` with
confidence 0.0, so routing sends it to a person at the desk rather than acting on the model's guess.
"""

from __future__ import annotations

import json
import logging
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from classifiers.category import LinearModel, probabilities
from classifiers.features import MAX_MODEL_CHARS, FeatureSpace, StaticEmbedder, has_content, normalise
from classifiers.flags import (
    Cue,
    EmergencyRule,
    VipList,
    accuses_police,
    emergency_cue,
    is_missing_child,
    is_urgent,
    is_vip,
)
from classifiers.stations import StationMap
from classifiers.tuned import TUNED_DIR, TunedModel
from models.taxonomy import Category, Layer, layer_for

logger = logging.getLogger(__name__)

BATCH_SIZE = 512
_PLACE_TEXT_CHARS = 5000


@dataclass(frozen=True)
class PostInput:
    id: str
    text: str
    platform: str | None = None
    author: str | None = None
    lat: float | None = None
    lon: float | None = None
    referenced_authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Classification:
    id: str
    category: Category
    confidence: float
    emergency: bool
    vip: bool
    place: str | None
    station: str | None
    place_lat: float | None
    place_lon: float | None
    misconduct: bool = False  # the police themselves are accused: the case goes to the station's supervisor


class PlaceLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...


class PlaceLookup(Protocol):
    def find(self, text: str) -> PlaceLike | None: ...


StationResolver = Callable[[Layer, PlaceLike | None, float | None, float | None], str | None]
"""(layer, place, lat, lon) → station id or None; ``classifiers.places.station_for`` bound to jurisdictions."""

_TRAFFIC_MISCONDUCT = re.compile(
    r"traffic|challan|chalan|\bfine[ds]?\b|helmet|signal|towing|\btow\b|licen[cs]e|\brc\b|\bdl\b|speed gun"
    r"|ट्रैफिक|चालान|ಟ್ರಾಫಿಕ್|ಸಂಚಾರ|ದಂಡ|\bcsgt\b|giao thong|phat nguoi"
)


def misconduct_layer(normalised_text: str) -> Layer:
    """Which layer an accused officer belongs to, from the text: traffic police words → traffic."""
    return Layer.TRAFFIC if _TRAFFIC_MISCONDUCT.search(normalised_text) else Layer.LAW_ORDER


MIN_SCRIPT_NGRAMS = 100
"""A script counts as learnt when at least this many of the model's character n-grams hold its letters or
digits: a few stray posts in another script (a quoted Urdu line) do not teach the model that script."""
_PLACEHOLDERS = re.compile(r"\b(?:xurl|xuser|xmanyusers|xretweet|xphone|xplate)\b")  # what normalise() writes
_WORD_EDGES = string.punctuation + "…“”‘’।"


def script_of(char: str) -> str | None:
    """The script of a letter or digit, read from its Unicode name ("LATIN", "DEVANAGARI", "KANNADA", "ARABIC",
    "CJK"; "DIGIT" for 0-9); None for anything else (emoji, punctuation, vowel signs)."""
    if not char.isalnum():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else None


@dataclass(frozen=True)
class Legibility:
    """What the model can read, taken from its own feature space rather than a list of languages: the scripts
    its character n-grams were learnt in (today Latin, which Vietnamese becomes once its diacritics are folded,
    Devanagari, Kannada and digits) and the single words of its word vocabulary."""

    scripts: frozenset[str]
    words: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, char_terms: Iterable[str], word_terms: Iterable[str] = (), *, min_ngrams: int = MIN_SCRIPT_NGRAMS
    ) -> Legibility:
        counts = Counter(script for term in char_terms for script in {script_of(c) for c in term} if script)
        words = frozenset(w for w in word_terms if " " not in w and any(c.isalnum() for c in w))
        return cls(frozenset(s for s, n in counts.items() if n >= min_ngrams), words)

    @classmethod
    def load(cls, features_json: Path) -> Legibility:
        """From the saved feature space (``features.json``: its character and word vocabularies)."""
        saved = json.loads(features_json.read_text(encoding="utf-8"))
        return cls.of(saved["char"], saved["word"])

    def can_read(self, normalised: str) -> bool:
        """Whether a normalise()d post has a letter or digit in a learnt script or a word of the vocabulary;
        the tokens normalise() puts for handles, links, phones and plates do not count, nor do emoji."""
        text = _PLACEHOLDERS.sub(" ", normalised)
        if any(script_of(c) in self.scripts for c in text):
            return True
        return any(word.strip(_WORD_EDGES) in self.words for word in text.split())


class Classifier:
    def __init__(
        self,
        features: FeatureSpace,
        category_model: LinearModel,
        emergency_model: LinearModel,
        emergency_rule: EmergencyRule,
        vip: VipList,
        places: PlaceLookup | None = None,
        station_resolver: StationResolver | None = None,
        misconduct_model: LinearModel | None = None,
        misconduct_threshold: float = 0.5,
        legibility: Legibility | None = None,
        tuned: TunedModel | None = None,
        tuned_weight: float = 0.0,
    ) -> None:
        """``legibility``: what the model can read; without it every post with a letter, digit or emoji counts
        as readable. ``tuned``: the fine-tuned static model, whose log-probabilities times ``tuned_weight`` join
        the category head's logits."""
        self._tuned = tuned
        self._tuned_weight = tuned_weight
        self._features = features
        self._legibility = legibility
        self._misconduct = misconduct_model
        self._misconduct_threshold = misconduct_threshold
        self._category = category_model
        self._emergency = emergency_model
        self._rule = emergency_rule
        self._vip = vip
        self._places = places
        self._station_resolver = station_resolver
        self._categories = [Category(name) for name in category_model.classes]

    @classmethod
    def load(cls, artifacts_dir: Path, city_dir: Path, vip: VipList, stations: StationMap | None = None) -> Classifier:
        """Load the trained artifacts and, given the city's stations and its data folder (``data/bengaluru``:
        places, aliases), the place finder and station lookup; without ``stations`` posts get no place."""
        features = FeatureSpace.load(artifacts_dir, StaticEmbedder(artifacts_dir / "static_minilm"))
        manifest = json.loads((artifacts_dir / "manifest.json").read_text(encoding="utf-8"))
        places, resolver = _load_places(city_dir, stations)
        misconduct = artifacts_dir / "misconduct.npz"
        tuned_weight = float(manifest.get("config", {}).get("tuned_weight", 0.0))
        tuned = TunedModel.load(artifacts_dir / TUNED_DIR) if tuned_weight > 0 else None
        return cls(
            features,
            LinearModel.load(artifacts_dir / "category.npz"),
            LinearModel.load(artifacts_dir / "emergency.npz"),
            EmergencyRule(**manifest["emergency_rule"]),
            vip,
            places,
            resolver,
            LinearModel.load(misconduct) if misconduct.is_file() else None,
            float(manifest.get("misconduct_threshold", 0.5)),
            Legibility.load(artifacts_dir / "features.json"),
            tuned,
            tuned_weight,
        )

    def classify(self, posts: Sequence[PostInput]) -> list[Classification]:
        results: list[Classification] = []
        for start in range(0, len(posts), BATCH_SIZE):
            results.extend(self._classify_batch(posts[start : start + BATCH_SIZE]))
        return results

    def _classify_batch(self, posts: Sequence[PostInput]) -> list[Classification]:
        texts = [post.text if isinstance(post.text, str) else "" for post in posts]
        normalised = [normalise(text) for text in texts]
        matrix = self._features.transform(normalised, texts)
        category_logits = self._category.logits(matrix)
        if self._tuned is not None:
            tuned = self._tuned.log_probs(self._features.glossed(normalised))
            category_logits = category_logits + np.float32(self._tuned_weight) * tuned
        category_probs = probabilities(category_logits, self._category.temperature)
        emergency_probs = self._emergency.predict_proba(matrix)[:, 1]
        misconduct_probs = (
            self._misconduct.predict_proba(matrix)[:, 1] if self._misconduct is not None else np.zeros(len(posts))
        )
        best = np.argmax(category_probs, axis=1)
        results = []
        for row, post in enumerate(posts):
            if self._can_read(normalised[row]):
                category = self._categories[int(best[row])]
                confidence = float(category_probs[row, best[row]])
                emergency = emergency_for(category, float(emergency_probs[row]), normalised[row], self._rule)
                misconduct = misconduct_for(
                    category, float(misconduct_probs[row]), normalised[row], self._misconduct_threshold
                )
            else:  # the model's numbers mean nothing here: no confidence, and only the phrase layers may flag it
                category, confidence = Category.OTHER, 0.0
                emergency = emergency_cue(normalised[row]) is Cue.PHRASE
                misconduct = accuses_police(normalised[row])
            located = self._locate(post, texts[row], normalised[row], category, confidence, emergency)
            results.append(replace(located, misconduct=misconduct) if misconduct else located)
        return results

    def _can_read(self, normalised: str) -> bool:
        if self._legibility is None:
            return has_content(normalised)
        return self._legibility.can_read(normalised)

    def station_of_place(self, place_text: str, layer: Layer) -> str | None:
        """The station of ``layer`` for a place named on its own ("Silk Board junction"), or None: how the
        evaluation turns a labeller's place, as written, into the station that should get the case."""
        if self._places is None or self._station_resolver is None:
            return None
        place = self._places.find(place_text[:_PLACE_TEXT_CHARS])
        return self._station_resolver(layer, place, None, None) if place is not None else None

    def _locate(
        self, post: PostInput, text: str, normalised: str, category: Category, confidence: float, emergency: bool
    ) -> Classification:
        misconduct = misconduct_layer(normalised) if category is Category.OFFICER_MISCONDUCT else None
        layer = layer_for(category, misconduct_layer=misconduct)
        place, station = None, None
        try:
            if self._places is not None and text:
                place = self._places.find(text[:_PLACE_TEXT_CHARS])
            if layer is not None and self._station_resolver is not None:
                station = self._station_resolver(layer, place, post.lat, post.lon)
        except Exception:  # a bad post affects only itself (DESIGN invariant 6): it keeps its category
            logger.exception("place or station lookup failed for post %s", post.id)
        vip = is_vip(post.author, post.author, text[: MAX_MODEL_CHARS * 2], post.referenced_authors, self._vip)
        return Classification(
            id=post.id,
            category=category,
            confidence=round(confidence, 4),
            emergency=emergency,
            vip=vip,
            place=place.name if place is not None else None,
            station=station,
            place_lat=place.lat if place is not None else None,
            place_lon=place.lon if place is not None else None,
        )


# Categories that ask for no police action: a post in them is no emergency whatever its words
# ("a big salute to the crew who did CPR", news of a crash in another city, "how do I report an injury").
NEVER_EMERGENCY = frozenset({Category.APPRECIATION, Category.INFORMATION_REQUEST, Category.OTHER})


def misconduct_for(category: Category, probability: float, normalised_text: str, threshold: float) -> bool:
    """The misconduct flag: always with ``officer_misconduct``; else the model's probability or the phrase layer
    ("the station refuses to file an FIR"), whatever the category, except where no police matter is raised."""
    if category is Category.OFFICER_MISCONDUCT:
        return True
    if category in NEVER_EMERGENCY and category is not Category.OTHER:
        return False  # thanks and questions are not accusations
    return probability >= threshold or accuses_police(normalised_text)


def emergency_for(category: Category, probability: float, normalised_text: str, rule: EmergencyRule) -> bool:
    """The emergency flag from the model's probability, the phrase layer and the category."""
    if category in NEVER_EMERGENCY:
        return False
    if category is Category.MISSING_PERSON and is_missing_child(normalised_text):
        return True
    if is_urgent(normalised_text):
        return True
    return rule.decide(probability, emergency_cue(normalised_text))


def _load_places(city_dir: Path, stations: StationMap | None) -> tuple[PlaceLookup | None, StationResolver | None]:
    if stations is None:
        logger.warning("no station data given: posts get no place or station")
        return None, None
    if not city_dir.is_dir():  # checked first: importing the place modules loads spaCy (and torch)
        logger.warning("no city data in %s: posts get no place or station", city_dir)
        return None, None
    try:
        from classifiers.places import PlaceFinder, station_for
    except ImportError as exc:
        logger.warning("place lookup unavailable (%s): posts get no place or station", exc)
        return None, None
    finder = PlaceFinder.load(city_dir, stations)

    def resolve(layer: Layer, place: PlaceLike | None, lat: float | None, lon: float | None) -> str | None:
        return station_for(layer, place, lat, lon, stations)  # type: ignore[arg-type]

    return finder, resolve
