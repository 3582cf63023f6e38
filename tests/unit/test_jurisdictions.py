"""Stations, their chain of command and which station covers a point, on the sample city's data."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from shapely.geometry import Point, shape

from models.taxonomy import Layer
from routing.jurisdictions import JurisdictionDataError, Jurisdictions

DATA = Path(__file__).resolve().parents[2] / "data" / "bengaluru"


@pytest.fixture(scope="module")
def jurisdictions() -> Jurisdictions:
    return Jurisdictions.load(DATA)


def inside_point(file: str, station_id: str) -> tuple[float, float]:
    """A point surely inside a station's polygon, computed from the boundaries file itself."""
    features = json.loads((DATA / file).read_text(encoding="utf-8"))["features"]
    geometry = next(shape(f["geometry"]) for f in features if f["properties"]["id"] == station_id)
    point = geometry.representative_point()
    return point.y, point.x


@pytest.mark.parametrize(
    ("file", "layer", "station_id"),
    [
        ("boundaries_law_order.geojson", Layer.LAW_ORDER, "blr-lo-koramangala"),
        ("boundaries_law_order.geojson", Layer.LAW_ORDER, "blr-lo-whitefield"),
        ("boundaries_law_order.geojson", Layer.LAW_ORDER, "blr-lo-anekal"),
        ("boundaries_traffic.geojson", Layer.TRAFFIC, "blr-traffic-adugodi"),
        ("boundaries_traffic.geojson", Layer.TRAFFIC, "blr-traffic-hebbal"),
        ("boundaries_traffic.geojson", Layer.TRAFFIC, "blr-traffic-electronic-city"),
    ],
)
def test_point_inside_a_station_polygon_finds_that_station(
    jurisdictions: Jurisdictions, file: str, layer: Layer, station_id: str
) -> None:
    assert jurisdictions.station_at(*inside_point(file, station_id), layer) == station_id


@pytest.mark.parametrize(
    ("lat", "lon", "law_order", "traffic"),
    [
        (12.97873, 77.59177, "blr-lo-vidhana-soudha", "blr-traffic-cubbon-park"),  # Vidhana Soudha
        (12.99703, 77.66920, "blr-lo-ramamurthy-nagar", "blr-traffic-k-r-puram"),  # Tin Factory
        (13.19906, 77.70839, "blr-lo-kempegowda-international-airport", "blr-traffic-devanahalli"),  # airport
        (12.77830, 77.77130, "blr-lo-attibele", None),  # Attibele: rural, no city traffic police
    ],
)
def test_known_points_belong_to_their_stations(
    jurisdictions: Jurisdictions, lat: float, lon: float, law_order: str, traffic: str | None
) -> None:
    assert jurisdictions.station_at(lat, lon, Layer.LAW_ORDER) == law_order
    assert jurisdictions.station_at(lat, lon, Layer.TRAFFIC) == traffic


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(12.2958, 76.6394), (13.0827, 80.2707), (0.0, 0.0), (77.59, 12.97)],  # Mysuru, Chennai, null island, swapped
)
def test_point_outside_the_city_has_no_station(jurisdictions: Jurisdictions, lat: float, lon: float) -> None:
    assert jurisdictions.station_at(lat, lon, Layer.LAW_ORDER) is None
    assert jurisdictions.station_at(lat, lon, Layer.TRAFFIC) is None
    assert jurisdictions.contains_point(lat, lon) is False


def test_point_in_a_sliver_between_simplified_polygons_still_has_a_station(jurisdictions: Jurisdictions) -> None:
    # Fraser Town (Doddi stop) lies 2-5 m outside every simplified law-and-order polygon.
    assert jurisdictions.station_at(13.0027999975, 77.6121496515, Layer.LAW_ORDER) is not None
    assert jurisdictions.contains_point(13.0027999975, 77.6121496515)


def test_traffic_station_chain_of_command_reaches_its_dcp(jurisdictions: Jurisdictions) -> None:
    assert jurisdictions.chain_of_command("blr-traffic-adugodi") == [
        "blr-traffic-adugodi",
        "blr-traffic-acp-southeast",
        "blr-traffic-dcp-south",
    ]


def test_every_traffic_station_reports_to_a_dcp(jurisdictions: Jurisdictions) -> None:
    for station in jurisdictions.stations.values():
        if station.layer == "traffic" and station.has_boundary:
            top = jurisdictions.stations[jurisdictions.chain_of_command(station.id)[-1]]
            assert top.layer == "traffic_dcp", station.id


def test_chain_of_command_of_a_station_without_parent_or_unknown(jurisdictions: Jurisdictions) -> None:
    assert jurisdictions.chain_of_command("blr-lo-koramangala") == ["blr-lo-koramangala"]
    assert jurisdictions.chain_of_command("no-such-station") == []


def test_stations_without_polygon_are_known_but_never_found_by_point(jurisdictions: Jurisdictions) -> None:
    station = jurisdictions.stations["blr-traffic-bellanduru"]
    assert station.has_boundary is False and station.name == "Bellanduru PS"
    assert jurisdictions.station_point("blr-traffic-bellanduru") is None
    assert jurisdictions.station_at(12.9304, 77.6784, Layer.TRAFFIC) != "blr-traffic-bellanduru"


def test_kannada_names_are_loaded(jurisdictions: Jurisdictions) -> None:
    assert jurisdictions.stations["blr-traffic-adugodi"].name_kn == "ಆಡುಗೋಡಿ ಪಿಎಸ್"


def test_csv_stations_of_bus_stops_differ_from_polygons_only_at_borders(jurisdictions: Jurisdictions) -> None:
    """places.csv was overlaid on finer polygons than the simplified ones shipped: where the two
    disagree for a bus stop the stop lies within metres of a border, so the csv column is the better
    answer and the place finder keeps it."""
    metres_per_degree = 111_320.0
    with (DATA / "places.csv").open(newline="", encoding="utf-8") as handle:
        stops = [r for r in csv.DictReader(handle) if r["kind"] == "bus_stop"]
    disagreements = 0
    for row in stops:
        lat, lon = float(row["lat"]), float(row["lon"])
        for layer, column in ((Layer.LAW_ORDER, "law_order_station"), (Layer.TRAFFIC, "traffic_station")):
            if (jurisdictions.station_at(lat, lon, layer) or "") != row[column]:
                disagreements += 1
                polygon = jurisdictions.boundary(row[column])
                gap_m = polygon.distance(Point(lon, lat)) * metres_per_degree if polygon is not None else 0.0
                assert gap_m < 15, (row["name"], column, round(gap_m))
    assert 0 < disagreements < len(stops) * 0.05


def write_city(tmp_path: Path, stations_csv: str) -> Path:
    for name in ("boundaries_law_order.geojson", "boundaries_traffic.geojson"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "stations.csv").write_text(stations_csv, encoding="utf-8")
    return tmp_path


def test_bad_layer_names_the_file_and_row(tmp_path: Path) -> None:
    rows = (DATA / "stations.csv").read_text(encoding="utf-8").splitlines()
    rows[3] = rows[3].replace(",traffic_dcp,", ",trafic,")
    with pytest.raises(JurisdictionDataError, match=r"stations\.csv, row 4: layer 'trafic'"):
        Jurisdictions.load(write_city(tmp_path, "\n".join(rows) + "\n"))


def test_unknown_parent_is_reported(tmp_path: Path) -> None:
    text = (DATA / "stations.csv").read_text(encoding="utf-8").replace(
        ",blr-traffic-acp-southeast,yes", ",blr-traffic-acp-nowhere,yes", 1
    )
    with pytest.raises(JurisdictionDataError, match="unknown parent_id 'blr-traffic-acp-nowhere'"):
        Jurisdictions.load(write_city(tmp_path, text))


def test_polygon_for_a_station_missing_from_the_csv_names_the_feature(tmp_path: Path) -> None:
    rows = [r for r in (DATA / "stations.csv").read_text(encoding="utf-8").splitlines() if "blr-lo-adugodi," not in r]
    with pytest.raises(JurisdictionDataError, match=r"boundaries_law_order\.geojson, feature 0: id 'blr-lo-adugodi'"):
        Jurisdictions.load(write_city(tmp_path, "\n".join(rows) + "\n"))


def test_missing_boundaries_file_is_reported(tmp_path: Path) -> None:
    shutil.copy(DATA / "stations.csv", tmp_path / "stations.csv")
    with pytest.raises(JurisdictionDataError, match="boundaries_"):
        Jurisdictions.load(tmp_path)
