"""What the place finder needs of the city's police stations, handed in by the assembly.

``routing.jurisdictions.Jurisdictions`` satisfies it; classifiers never import routing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from models.taxonomy import Layer


class StationInfo(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def layer(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def name_kn(self) -> str: ...


class StationMap(Protocol):
    """Stations by id, the station whose area holds a point, and a point inside a station's area."""

    @property
    def stations(self) -> Mapping[str, StationInfo]: ...

    def station_at(self, lat: float, lon: float, layer: Layer) -> str | None: ...

    def station_point(self, station_id: str) -> tuple[float, float] | None: ...
