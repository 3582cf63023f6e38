"""The place finder the desk's corrections use: a place name as a person types it → the gazetteer's place and
the station of the case's category there (``CaseActions(..., relocate=make_relocate(...))``).

It is the classifier's own gazetteer (``data/bengaluru``: places, aliases, station names), so a place the desk
names is found as the bot would find it in a post: misspellings, Kannada script, landmarks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from classifiers.stations import StationMap
from models.corrections import Placed, Relocate
from models.taxonomy import Category, layer_for

if TYPE_CHECKING:  # spaCy loads only when a relocate is built
    from classifiers.places import PlaceFinder

MAX_PLACE_CHARS = 200


def make_relocate(city_dir: Path, stations: StationMap, *, finder: PlaceFinder | None = None) -> Relocate:
    """``relocate(category, place)`` on the city's gazetteer (``finder``, when one is loaded already) and its
    stations; None for an unknown category, an empty name or a place the gazetteer does not know."""
    from classifiers.places import PlaceFinder, station_for

    places = finder or PlaceFinder.load(city_dir, stations)

    def relocate(category: str, place: str | None) -> Placed | None:
        name = " ".join((place or "").split())[:MAX_PLACE_CHARS]
        if not name or category not in Category.__members__.values():
            return None
        # a name typed on its own lacks the cue some everyday-word names need in a post ("near Forum")
        found = places.find(name) or places.find(f"near {name}")
        if found is None:
            return None
        station = station_for(layer_for(Category(category)), found, None, None, stations)
        return Placed(found.name, found.lat, found.lon, station)

    return relocate
