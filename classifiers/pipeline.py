"""The classifier as the bot uses it: load once, then classify posts in batches.

For each post: category with a calibrated confidence, the emergency and VIP flags, the place named in
the text and the station responsible for it in the category's layer. Bad input never raises: empty,
emoji-only or control-character posts come back as ``other``; very long posts are cut for the model.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from classifiers.category import LinearModel
from classifiers.features import MAX_MODEL_CHARS, FeatureSpace, StaticEmbedder, has_content, normalise
from classifiers.flags import EmergencyRule, VipList, accuses_police, emergency_cue, is_missing_child, is_vip
from classifiers.stations import StationMap
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
    ) -> None:
        self._features = features
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
        )

    def classify(self, posts: Sequence[PostInput]) -> list[Classification]:
        results: list[Classification] = []
        for start in range(0, len(posts), BATCH_SIZE):
            results.extend(self._classify_batch(posts[start : start + BATCH_SIZE]))
        return results

    def _classify_batch(self, posts: Sequence[PostInput]) -> list[Classification]:
        texts = [post.text if isinstance(post.text, str) else "" for post in posts]
        normalised = [normalise(text) for text in texts]
        matrix = self._features.transform(normalised)
        category_probs = self._category.predict_proba(matrix)
        emergency_probs = self._emergency.predict_proba(matrix)[:, 1]
        misconduct_probs = (
            self._misconduct.predict_proba(matrix)[:, 1] if self._misconduct is not None else np.zeros(len(posts))
        )
        best = np.argmax(category_probs, axis=1)
        results = []
        for row, post in enumerate(posts):
            if has_content(normalised[row]):
                category = self._categories[int(best[row])]
                confidence = float(category_probs[row, best[row]])
                emergency = emergency_for(
                    category, float(emergency_probs[row]), normalised[row], self._rule
                )
            else:
                category, confidence, emergency = Category.OTHER, 1.0, False
            located = self._locate(post, texts[row], normalised[row], category, confidence, emergency)
            misconduct = misconduct_for(
                category, float(misconduct_probs[row]), normalised[row], self._misconduct_threshold
            )
            results.append(replace(located, misconduct=misconduct) if misconduct else located)
        return results

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
_NEVER_EMERGENCY = frozenset({Category.APPRECIATION, Category.INFORMATION_REQUEST, Category.OTHER})


def misconduct_for(category: Category, probability: float, normalised_text: str, threshold: float) -> bool:
    """The misconduct flag: always with ``officer_misconduct``; else the model's probability or the phrase layer
    ("the station refuses to file an FIR"), whatever the category, except where no police matter is raised."""
    if category is Category.OFFICER_MISCONDUCT:
        return True
    if category in _NEVER_EMERGENCY and category is not Category.OTHER:
        return False  # thanks and questions are not accusations
    return probability >= threshold or accuses_police(normalised_text)


def emergency_for(category: Category, probability: float, normalised_text: str, rule: EmergencyRule) -> bool:
    """The emergency flag from the model's probability, the phrase layer and the category."""
    if category in _NEVER_EMERGENCY:
        return False
    if category is Category.MISSING_PERSON and is_missing_child(normalised_text):
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
