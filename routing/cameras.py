"""The community camera registry: cameras whose footage may show what happened near a complaint's place.

``cameras.csv``: ``id, name, lat, lon, owner, contact``. Distances are great-circle (haversine) metres.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

EARTH_RADIUS_M = 6_371_008.8
CAMERA_COLUMNS = ("id", "name", "lat", "lon", "owner", "contact")


@dataclass(frozen=True)
class Camera:
    id: str
    name: str
    lat: float
    lon: float
    owner: str
    contact: str


@dataclass(frozen=True)
class NearbyCamera:
    camera: Camera
    distance_m: float


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cameras_near(
    cameras: Iterable[Camera], lat: float, lon: float, *, radius_m: float, limit: int | None = None
) -> list[NearbyCamera]:
    """Cameras within ``radius_m`` of the point, nearest first (ties by id)."""
    # a cheap box test first: one degree of latitude is ~111 km everywhere
    d_lat = radius_m / 111_000.0 * 1.01
    d_lon = d_lat / max(0.01, math.cos(math.radians(lat)))
    found = [
        NearbyCamera(c, haversine_m(lat, lon, c.lat, c.lon))
        for c in cameras
        if abs(c.lat - lat) <= d_lat and abs(c.lon - lon) <= d_lon
    ]
    found = sorted((n for n in found if n.distance_m <= radius_m), key=lambda n: (n.distance_m, n.camera.id))
    return found[:limit] if limit is not None else found


def read_cameras(path: Path) -> tuple[list[Camera], list[str]]:
    """Cameras from ``cameras.csv`` and every problem found (bad rows are skipped)."""
    cameras: list[Camera] = []
    problems: list[str] = []
    try:
        return _read_cameras(path, cameras, problems)
    except (UnicodeDecodeError, csv.Error) as exc:  # not UTF-8 text, or a field past csv's limit
        return cameras, [*problems, f"cannot read {path}: {exc}"]


def _read_cameras(path: Path, cameras: list[Camera], problems: list[str]) -> tuple[list[Camera], list[str]]:
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CAMERA_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            return [], [f"{path}: missing column(s) {', '.join(missing)}"]
        for number, row in enumerate(reader, start=2):
            cells = {c: (row.get(c) or "").strip() for c in CAMERA_COLUMNS}
            where = f"{path.name}, row {number}"
            try:
                lat, lon = float(cells["lat"]), float(cells["lon"])
            except ValueError:
                problems.append(f"{where}: lat/lon {cells['lat']!r}, {cells['lon']!r} are not numbers")
                continue
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                problems.append(f"{where}: lat/lon {lat}, {lon} out of range")
            elif not cells["id"] or cells["id"] in seen:
                problems.append(f"{where}: empty or duplicate camera id {cells['id']!r}")
            else:
                seen.add(cells["id"])
                cameras.append(Camera(cells["id"], cells["name"], lat, lon, cells["owner"], cells["contact"]))
    return cameras, problems
