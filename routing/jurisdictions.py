"""Police stations, their chain of command and the areas they cover.

A deployment's jurisdiction folder holds ``stations.csv`` (one row per station or supervising office)
and one GeoJSON file of polygons per layer (``boundaries_<layer>.geojson``, features carrying the
station ``id``). Bad data stops the load with an error that names the file and the row or feature.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from models.taxonomy import Layer

logger = logging.getLogger(__name__)

STATION_COLUMNS = ("id", "layer", "name", "name_kn", "parent_id", "has_boundary")
STATION_LAYERS = frozenset({"traffic", "traffic_acp", "traffic_dcp", "law_order"})
# Layers whose polygons decide which station a point belongs to.
ROUTING_LAYERS = (Layer.LAW_ORDER, Layer.TRAFFIC)
# The polygons are simplified: neighbours leave slivers a few metres wide between them, and a point in
# one still belongs to the nearest station. Beyond this distance a point is outside every station.
BORDER_TOLERANCE_M = 30.0
_METRES_PER_DEGREE = 111_320.0


class JurisdictionDataError(ValueError):
    """The jurisdiction files are missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Station:
    id: str
    layer: str
    name: str
    name_kn: str
    parent_id: str | None
    has_boundary: bool


@dataclass(frozen=True)
class _LayerIndex:
    ids: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]
    tree: STRtree

    def lookup(self, point: Point) -> str | None:
        hits = [int(i) for i in self.tree.query(point, predicate="intersects")]
        if not hits:
            nearest = self.tree.query_nearest(point, max_distance=BORDER_TOLERANCE_M / _METRES_PER_DEGREE)
            hits = [int(i) for i in nearest]
        if not hits:
            return None
        # Simplified polygons overlap slightly at borders: the smaller area is the more specific one.
        best = min(hits, key=lambda i: (self.geometries[i].area, self.ids[i]))
        return self.ids[best]


def read_stations(path: Path) -> dict[str, Station]:
    """Stations from ``stations.csv``; every parent must be a station of the same file."""
    stations: dict[str, Station] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in STATION_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise JurisdictionDataError(f"{path}: missing column(s) {', '.join(missing)}")
            for row_number, row in enumerate(reader, start=2):
                station = _station_from_row(row, where=f"{path}, row {row_number}")
                if station.id in stations:
                    raise JurisdictionDataError(f"{path}, row {row_number}: duplicate id {station.id!r}")
                stations[station.id] = station
    except (OSError, UnicodeDecodeError, csv.Error) as exc:  # also: not UTF-8 text, a field past csv's limit
        raise JurisdictionDataError(f"cannot read {path}: {exc}") from exc
    for station in stations.values():
        if station.parent_id is not None and station.parent_id not in stations:
            raise JurisdictionDataError(
                f"{path}: station {station.id!r} has unknown parent_id {station.parent_id!r}"
            )
    return stations


def _station_from_row(row: Mapping[str, str | None], *, where: str) -> Station:
    def cell(column: str) -> str:
        return (row.get(column) or "").strip()

    station_id, layer, has_boundary = cell("id"), cell("layer"), cell("has_boundary").lower()
    if not station_id:
        raise JurisdictionDataError(f"{where}: empty id")
    if layer not in STATION_LAYERS:
        raise JurisdictionDataError(f"{where}: layer {layer!r} is not one of {sorted(STATION_LAYERS)}")
    if has_boundary not in ("yes", "no"):
        raise JurisdictionDataError(f"{where}: has_boundary must be yes or no, not {has_boundary!r}")
    if not cell("name"):
        raise JurisdictionDataError(f"{where}: empty name")
    return Station(
        id=station_id,
        layer=layer,
        name=cell("name"),
        name_kn=cell("name_kn"),
        parent_id=cell("parent_id") or None,
        has_boundary=has_boundary == "yes",
    )


def read_boundaries(path: Path, stations: Mapping[str, Station], layer: str) -> dict[str, BaseGeometry]:
    """Polygons by station id from one GeoJSON file; every feature must name a station of ``layer``."""
    try:
        collection: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise JurisdictionDataError(f"cannot read {path}: {exc}") from exc
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list):
        raise JurisdictionDataError(f"{path}: not a GeoJSON FeatureCollection")
    polygons: dict[str, BaseGeometry] = {}
    for number, feature in enumerate(features):
        where = f"{path}, feature {number}"
        properties = (feature.get("properties") or {}) if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            raise JurisdictionDataError(f"{where}: not a feature with properties")
        station_id = str(properties.get("id", ""))
        station = stations.get(station_id)
        if station is None:
            raise JurisdictionDataError(f"{where}: id {station_id!r} is not in stations.csv")
        if station.layer != layer:
            raise JurisdictionDataError(f"{where}: {station_id!r} is a {station.layer} station, not {layer}")
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise JurisdictionDataError(f"{where} ({station_id}): bad geometry: {exc}") from exc
        if geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise JurisdictionDataError(
                f"{where} ({station_id}): expected a polygon, got {geometry.geom_type}"
            )
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        if station_id in polygons:
            raise JurisdictionDataError(f"{where}: second polygon for {station_id!r}")
        polygons[station_id] = geometry
    return polygons


class Jurisdictions:
    """Stations, their parents and their polygons; answers "which station covers this point"."""

    def __init__(self, stations: Mapping[str, Station], boundaries: Mapping[str, BaseGeometry]) -> None:
        self.stations: Mapping[str, Station] = MappingProxyType(dict(stations))
        self._boundaries = dict(boundaries)
        self._indexes: dict[Layer, _LayerIndex] = {}
        for layer in ROUTING_LAYERS:
            ids = tuple(sorted(i for i in self._boundaries if self.stations[i].layer == layer.value))
            geometries = tuple(self._boundaries[i] for i in ids)
            self._indexes[layer] = _LayerIndex(ids, geometries, STRtree(geometries))

    @classmethod
    def load(cls, data_dir: Path) -> Jurisdictions:
        stations = read_stations(data_dir / "stations.csv")
        boundaries: dict[str, BaseGeometry] = {}
        for layer in sorted(STATION_LAYERS):
            path = data_dir / f"boundaries_{layer}.geojson"
            if path.exists():
                boundaries.update(read_boundaries(path, stations, layer))
            elif layer in (r.value for r in ROUTING_LAYERS):
                raise JurisdictionDataError(f"missing {path}")
        for station in stations.values():
            if station.has_boundary != (station.id in boundaries):
                raise JurisdictionDataError(
                    f"{data_dir / 'stations.csv'}: {station.id!r} has_boundary="
                    f"{'yes' if station.has_boundary else 'no'} but the boundaries files "
                    f"{'lack' if station.has_boundary else 'have'} its polygon"
                )
        logger.info(
            "jurisdictions: %d stations, %d polygons from %s", len(stations), len(boundaries), data_dir
        )
        return cls(stations, boundaries)

    def station_at(self, lat: float, lon: float, layer: Layer) -> str | None:
        """The station of ``layer`` whose polygon holds the point (or lies within ``BORDER_TOLERANCE_M``
        of it); None outside every polygon."""
        index = self._indexes.get(Layer(layer))
        if index is None:
            return None
        return index.lookup(Point(lon, lat))

    def contains_point(self, lat: float, lon: float) -> bool:
        return any(self.station_at(lat, lon, layer) is not None for layer in ROUTING_LAYERS)

    def chain_of_command(self, station_id: str) -> list[str]:
        """The station and its parents, nearest first (traffic: station → ACP → DCP)."""
        chain: list[str] = []
        current: str | None = station_id
        while current is not None and current in self.stations and current not in chain:
            chain.append(current)
            current = self.stations[current].parent_id
        return chain

    def boundary(self, station_id: str) -> BaseGeometry | None:
        """The station's polygon (lon/lat), or None when it has none."""
        return self._boundaries.get(station_id)

    def station_point(self, station_id: str) -> tuple[float, float] | None:
        """A point (lat, lon) surely inside the station's polygon, or None when it has none."""
        geometry = self._boundaries.get(station_id)
        if geometry is None:
            return None
        point = geometry.representative_point()
        return (point.y, point.x)
