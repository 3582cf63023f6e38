"""The place finder behind the desk's corrections, on the sample city's own gazetteer and boundaries: a place
typed as the desk types it (misspelt, in Kannada, a landmark that needs a cue in a post) is found with the
station of the case's category there; an unknown name is None, so the correction is refused."""

from __future__ import annotations

from functools import cache

import pytest

from assembly.relocate import make_relocate
from models.corrections import Placed, Relocate
from routing.jurisdictions import Jurisdictions
from tests.conftest import ROOT

CITY = ROOT / "data" / "bengaluru"


@cache
def relocate() -> Relocate:
    return make_relocate(CITY, Jurisdictions.load(CITY))


@pytest.mark.parametrize(
    ("category", "typed", "name", "station"),
    [
        ("theft", "Koramangala", "Koramangala", "blr-lo-koramangala"),
        ("traffic_congestion", "koramangla", "Koramangala", "blr-traffic-adugodi"),  # misspelt; traffic layer
        ("theft", "ಕೋರಮಂಗಲ", "Koramangala", "blr-lo-koramangala"),  # Kannada script
        ("public_nuisance", "forum", "Forum Mall (Hosur RD)", "blr-lo-koramangala"),  # needs "near" in a post
        ("road_accident", "  Silk   Board ", "Central Silk Board (Hosur RD)", "blr-traffic-h-s-r-layout"),
        ("appreciation", "Koramangala", "Koramangala", None),  # no station acts on thanks
    ],
)
def test_a_place_the_desk_types_is_found_with_the_station_of_the_category(
    category: str, typed: str, name: str, station: str | None
) -> None:
    placed = relocate()(category, typed)
    assert isinstance(placed, Placed)
    assert (placed.name, placed.station_id) == (name, station)
    assert 12.7 < placed.lat < 13.3 and 77.3 < placed.lon < 77.9


@pytest.mark.parametrize(
    ("category", "typed"), [("theft", "Gotham"), ("theft", ""), ("theft", None), ("burglary", "Koramangala")]
)
def test_an_unknown_place_or_category_is_none(category: str, typed: str | None) -> None:
    assert relocate()(category, typed) is None
