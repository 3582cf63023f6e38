"""What the dashboard's leaderboard needs of the organisation and the city's boundaries, as plain data.

The dashboard imports neither ``routing`` nor shapely: here the stations' names, the ACP and DCP above each
station, the officers' names and ranks and the station boundaries (simplified for drawing) become a
:class:`dashboard.leaderboard.Directory`, built once at start-up and handed to ``create_app``.
"""

from __future__ import annotations

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from dashboard.leaderboard import Directory, Person, StationArea, Unit
from dashboard.svg import Ring, StationShape
from routing.jurisdictions import Jurisdictions
from routing.people import Organisation

MAP_LAYERS = ("law_order", "traffic")  # the stations that take cases; their polygons tile the city
SIMPLIFY_DEG = 0.0006  # about 65 m: invisible on a map a few hundred pixels wide, and far fewer points
DIGITS = 5


def leaderboard_inputs(organisation: Organisation, jurisdictions: Jurisdictions) -> Directory:
    # a traffic station and a law-and-order station often share a name ("H.S.R.Layout PS"): say which
    stations = {s.id: f"{s.name} (traffic)" if s.layer == "traffic" else s.name for s in organisation.stations.values()}
    areas = {
        station_id: area_of(organisation, station_id)
        for station_id, station in organisation.stations.items()
        if station.layer in MAP_LAYERS
    }
    officers = {
        o.id: Person(o.name, o.rank, organisation.unit_name(o.unit_id)) for o in organisation.officers.values()
    }
    shapes = {}
    for station_id, station in organisation.stations.items():
        geometry = jurisdictions.boundary(station_id) if station.layer in MAP_LAYERS else None
        if geometry is not None:
            shapes[station_id] = StationShape(station.name, station.layer, outer_rings(geometry))
    return Directory(stations, areas, officers, shapes)


def area_of(organisation: Organisation, station_id: str) -> StationArea:
    """The first ACP and the first DCP unit above the station in its chain of command."""
    acp = dcp = None
    for unit_id in organisation.chain(station_id)[1:]:
        unit = Unit(unit_id, organisation.unit_name(unit_id))
        if dcp is None and organisation.is_dcp(unit_id):
            dcp = unit
        elif acp is None and dcp is None and is_acp(organisation, unit_id):
            acp = unit
    return StationArea(acp, dcp)


def is_acp(organisation: Organisation, unit_id: str) -> bool:
    station = organisation.stations.get(unit_id)
    office = organisation.offices.get(unit_id)
    return (station is not None and station.layer == "traffic_acp") or (office is not None and office.kind == "acp")


def outer_rings(geometry: BaseGeometry) -> tuple[Ring, ...]:
    simple = geometry.simplify(SIMPLIFY_DEG, preserve_topology=True)
    polygons = [simple] if isinstance(simple, Polygon) else list(simple.geoms) if isinstance(simple, MultiPolygon) else []
    return tuple(
        tuple((round(x, DIGITS), round(y, DIGITS)) for x, y in p.exterior.coords)
        for p in polygons
        if isinstance(p, Polygon) and not p.is_empty
    )
