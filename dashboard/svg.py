"""Geometry for the leaderboard's inline SVG: the weekly trend charts and the map of stations. Pure.

The templates draw what these functions compute, with SVG presentation attributes only (the CSP refuses
inline styles) and Jinja's escaping for every name and title.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

Ring = tuple[tuple[float, float], ...]  # (lon, lat) points, closed or not
SHADES = ("#eef2f6", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # none, then fewest to most
MAP_WIDTH = 460.0


@dataclass(frozen=True)
class StationShape:
    name: str
    layer: str  # law_order / traffic
    polygons: tuple[Ring, ...]  # outer rings


@dataclass(frozen=True)
class MapArea:
    station_id: str
    name: str
    d: str  # the SVG path


@dataclass(frozen=True)
class MapLayer:
    layer: str
    width: float
    height: float
    areas: tuple[MapArea, ...]


def project_map(shapes: Mapping[str, StationShape], width: float = MAP_WIDTH) -> tuple[MapLayer, ...]:
    """One map per layer: lon/lat drawn flat (scaled by the cosine of the middle latitude), north up."""
    layers: list[MapLayer] = []
    for layer in sorted({s.layer for s in shapes.values()}):
        mine = {k: s for k, s in shapes.items() if s.layer == layer and s.polygons}
        points = [p for s in mine.values() for ring in s.polygons for p in ring]
        if not points:
            continue
        west, east = min(p[0] for p in points), max(p[0] for p in points)
        south, north = min(p[1] for p in points), max(p[1] for p in points)
        squeeze = math.cos(math.radians((south + north) / 2))
        scale = width / max((east - west) * squeeze, 1e-9)
        height = max((north - south) * scale, 1.0)

        def path(rings: Sequence[Ring], west: float = west, north: float = north, scale: float = scale, squeeze: float = squeeze) -> str:
            parts = []
            for ring in rings:
                xy = [f"{(lon - west) * squeeze * scale:.1f} {(north - lat) * scale:.1f}" for lon, lat in ring]
                parts.append("M" + " L".join(xy) + " Z")
            return " ".join(parts)

        areas = tuple(MapArea(k, s.name, path(s.polygons)) for k, s in sorted(mine.items()))
        layers.append(MapLayer(layer, round(width, 1), round(height, 1), areas))
    return tuple(layers)


def shade(count: int, most: int) -> str:
    """The fill for a station with ``count`` cases when the busiest has ``most``."""
    if count <= 0 or most <= 0:
        return SHADES[0]
    return SHADES[min(len(SHADES) - 1, max(1, math.ceil(count / most * (len(SHADES) - 1))))]


def legend(most: int) -> tuple[tuple[str, str], ...]:
    """(fill, the counts it stands for) for the map's key."""
    steps = len(SHADES) - 1
    found = [(SHADES[0], "0")]
    low = 1
    for i in range(1, steps + 1):
        high = math.floor(most * i / steps)
        if high >= low:
            found.append((SHADES[i], f"{low}" if high == low else f"{low}–{high}"))
            low = high + 1
    return tuple(found)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Trend:
    width: float
    height: float
    bars: tuple[Bar, ...]
    line: str  # polyline points of % acknowledged in time (gaps where no deadline fell due)
    dots: tuple[tuple[float, float, str], ...]
    most: int


def trend(
    weeks: Sequence[tuple[date, int, float | None]], *, width: float = 120.0, height: float = 28.0, pad: float = 2.0
) -> Trend:
    """Bars of cases per week (scaled to the busiest week) and a line of % acknowledged in time (0–100)."""
    most = max((w[1] for w in weeks), default=0)
    slot = (width - 2 * pad) / max(len(weeks), 1)
    inner = height - 2 * pad
    bars: list[Bar] = []
    points: list[str] = []
    dots: list[tuple[float, float, str]] = []
    for i, (start, cases, share) in enumerate(weeks):
        x = pad + i * slot
        h = inner * cases / most if most else 0.0
        label = f"week of {start:%d %b}: {cases} case{'s' if cases != 1 else ''}"
        if share is not None:
            label += f", {share:.0f}% acknowledged in time"
        bars.append(Bar(round(x + slot * 0.1, 1), round(pad + inner - h, 1), round(slot * 0.8, 1), round(h, 1), label))
        if share is not None:
            cx, cy = round(x + slot / 2, 1), round(pad + inner * (1 - share / 100), 1)
            points.append(f"{cx},{cy}")
            dots.append((cx, cy, label))
    return Trend(width, height, tuple(bars), " ".join(points), tuple(dots), most)
