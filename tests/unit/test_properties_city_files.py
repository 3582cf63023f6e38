"""Property tests: the city's data files and scenario files, changed at random (issue 12, item 6).

The sample city's CSVs (``data/bengaluru``: officers, offices, supervisors, rosters, cameras, stations) with
cells, rows and columns changed, and with bytes no CSV writer writes (not UTF-8, NUL, a field past the
``csv`` module's limit): each reader gives its result or its own error listing the problems
(``PeopleDataError``, ``JurisdictionDataError``, the cameras' problem list), and ``load_city`` turns them into
the one start-up error. Scenario files (JSONL) of arbitrary lines give posts or one ``ScenarioError`` naming
every bad line by number.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assembly.city import load_city
from assembly.errors import StartupError
from assembly.settings import load_settings
from routing.cameras import read_cameras
from routing.jurisdictions import JurisdictionDataError, Jurisdictions, read_stations
from routing.people import Organisation, PeopleDataError, load_organisation
from sandbox.scenario import ScenarioError, ScenarioPost, parse_scenario

SCALE = int(os.environ.get("PROPERTY_EXAMPLES", "1"))
PROPERTY = settings(
    max_examples=40 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "data" / "bengaluru"
PEOPLE_FILES = ("officers.csv", "offices.csv", "supervisors.csv", "rosters.csv")
STATIONS = Jurisdictions.load(CITY).stations

# ---- changing a CSV -----------------------------------------------------------------------------------------

CELLS = st.text(max_size=30) | st.sampled_from(
    ["", " ", "daily", "mon-fri", "sun-sat", "25:00", "24:00", "9:5", "06:00", "active", "on_leave", "acp",
     "blr-sm-desk", "blr-commissioner", "BCP0001", "${UNSET_TOKEN}", "mailto://a@b", "99999", "1" * 5_000,
     "12.97", "nan", "inf", "-91", "x,y", 'say "hi"', "two\nlines", "\x00"]
)


def rows_of(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((CITY / name).read_text(encoding="utf-8"))))


ROWS = {name: rows_of(name) for name in (*PEOPLE_FILES, "cameras.csv", "stations.csv")}


@st.composite
def changed_csv(draw: st.DrawFn, name: str) -> str:
    """The file with a few cells, rows or columns changed; still CSV a writer writes."""
    rows = [list(r) for r in ROWS[name]]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cell", "cell", "cell", "drop row", "copy row", "drop column", "header", "ragged"]))
        row = draw(st.integers(0, len(rows) - 1)) if rows else 0
        if not rows:
            break
        column = draw(st.integers(0, max(0, len(rows[row]) - 1)))
        if kind == "cell" and rows[row]:
            rows[row][column] = draw(CELLS)
        elif kind == "drop row":
            del rows[row]
        elif kind == "copy row":
            rows.insert(draw(st.integers(0, len(rows))), list(rows[row]))
        elif kind == "drop column":
            rows = [r[:column] + r[column + 1 :] for r in rows]
        elif kind == "header" and rows[0]:
            rows[0][min(column, len(rows[0]) - 1)] = draw(CELLS)
        elif kind == "ragged":
            rows[row] = rows[row][: draw(st.integers(0, len(rows[row])))] + draw(st.lists(CELLS, max_size=3))
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


@st.composite
def corrupted_bytes(draw: st.DrawFn, name: str) -> bytes:
    """The file's bytes with bytes no CSV writer writes spliced in: not UTF-8, NUL, a huge field, an open quote."""
    raw = (CITY / name).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        piece = draw(
            st.binary(min_size=1, max_size=8)
            | st.sampled_from([b"\xff\xfe", b"\x00", b'"', b"\r", b"\xe0\xb2", b"x" * 140_000, b'"' + b"y" * 140_000])
        )
        raw = raw[:at] + piece + raw[at:]
    return raw


def people_folder(tmp_path: Path, name: str, content: str | bytes) -> Path:
    folder = tmp_path / "people"
    folder.mkdir(exist_ok=True)
    for other in PEOPLE_FILES:
        shutil.copy(CITY / other, folder / other)
    target = folder / name
    target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def organisation(folder: Path) -> Organisation | PeopleDataError:
    try:
        return load_organisation(
            folder, STATIONS, desk_unit="blr-sm-desk", timezone="Asia/Kolkata", environ={"SET_TOKEN": "t"}
        )
    except PeopleDataError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return exc


def test_the_sample_people_load() -> None:
    assert isinstance(organisation(CITY), Organisation)


PEOPLE_NAMES = st.sampled_from(PEOPLE_FILES)


@settings(PROPERTY, max_examples=25 * SCALE)
@given(PEOPLE_NAMES.flatmap(lambda name: st.tuples(st.just(name), changed_csv(name))))
@example(("officers.csv", "id,name,rank,unit_id,role,status,channels,digest_every_min\nB1,N,R,blr-sm-desk,head,active,,"
          + "1" * 5_000 + "\n"))
def test_changed_people_files_give_an_organisation_or_their_problems(tmp_path: Path, changed: tuple[str, str]) -> None:
    name, content = changed
    organisation(people_folder(tmp_path, name, content))


@settings(PROPERTY, max_examples=25 * SCALE)
@given(PEOPLE_NAMES.flatmap(lambda name: st.tuples(st.just(name), corrupted_bytes(name))))
@example(("rosters.csv", b"\xff" + (CITY / "rosters.csv").read_bytes()))
@example(("officers.csv", (CITY / "officers.csv").read_bytes() + b'B9,"' + b"y" * 140_000 + b'"\n'))
def test_corrupted_people_files_give_an_organisation_or_their_problems(tmp_path: Path, changed: tuple[str, bytes]) -> None:
    name, content = changed
    organisation(people_folder(tmp_path, name, content))


def read_or_problem(read: Callable[[Path], Any], path: Path) -> Any:
    try:
        return read(path)
    except JurisdictionDataError as exc:
        return exc


@PROPERTY
@given(changed_csv("cameras.csv") | corrupted_bytes("cameras.csv"), changed_csv("stations.csv") | corrupted_bytes("stations.csv"))
@example(b"\xff", b"\xff")
def test_changed_cameras_and_stations_give_their_rows_or_their_problems(
    tmp_path: Path, cameras: str | bytes, stations: str | bytes
) -> None:
    for name, content in (("cameras.csv", cameras), ("stations.csv", stations)):
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    found, problems = read_cameras(tmp_path / "cameras.csv")
    assert all(isinstance(p, str) for p in problems)
    assert all(-90 <= c.lat <= 90 and -180 <= c.lon <= 180 for c in found)
    read_or_problem(read_stations, tmp_path / "stations.csv")


@pytest.fixture(scope="module")
def city_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    shutil.copytree(CITY, data / "bengaluru")
    return data


CITY_CORRUPTIONS = {
    "officers not UTF-8": ("officers.csv", b"\xff\xfe" + (CITY / "officers.csv").read_bytes()),
    "rosters not UTF-8": ("rosters.csv", (CITY / "rosters.csv").read_bytes() + b"\xe0\xb2\n"),
    "cameras not UTF-8": ("cameras.csv", b"id,name\xff,lat,lon,owner,contact\n"),
    "stations not UTF-8": ("stations.csv", (CITY / "stations.csv").read_bytes()[:-3] + b"\xff\n"),
    "a boundary file not UTF-8": ("boundaries_traffic.geojson", b'{"type": "\xff"}'),
    "a boundary file of the wrong shape": ("boundaries_traffic.geojson", b'{"features": ["a", {"properties": []}]}'),
    "a field past csv's limit": ("offices.csv", b'id,name,kind,parent_id\nx,"' + b"y" * 140_000 + b'",acp,\n'),
}


@pytest.mark.parametrize(("name", "content"), CITY_CORRUPTIONS.values(), ids=CITY_CORRUPTIONS.keys())
def test_a_corrupted_city_file_is_one_startup_error(city_copy: Path, tmp_path: Path, name: str, content: bytes) -> None:
    target = city_copy / "bengaluru" / name
    original = target.read_bytes()
    target.write_bytes(content)
    try:
        base = load_settings(ROOT / "config.toml", {}, need_platform_secrets=False)
        settings_ = replace(
            base, data_dir=city_copy, routing=replace(base.routing, people_dir=city_copy / "bengaluru")
        )
        with pytest.raises(StartupError) as raised:
            load_city(settings_, {})
        assert name in str(raised.value)
    finally:
        target.write_bytes(original)


# ---- scenario files ------------------------------------------------------------------------------------------

SCENARIO_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=15)
    | st.sampled_from(["x", "twitter", "facebook", "fb", "2026-11-20T09:30:00Z", "2026-11-20T09:30:00", "1", "comment"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
GOOD_LINE = {"platform": "x", "text": "Signal jumping at Silk Board", "author": "citizen", "created_at": "2026-11-20T09:30:00Z"}
FIELDS = st.sampled_from(["platform", "text", "author", "created_at", "id", "lat", "lon", "in_reply_to", "account",
                          "kind", "place"])
SCENARIO_LINES = (
    st.text(max_size=40)
    | st.dictionaries(FIELDS, SCENARIO_VALUES, max_size=6).map(lambda d: json.dumps({**GOOD_LINE, **d}))
    | SCENARIO_VALUES.map(json.dumps)
    | st.just(json.dumps(GOOD_LINE))
)


@PROPERTY
@given(st.lists(SCENARIO_LINES, max_size=8))
@example(['{"platform": "x", "text": "a", "author": "b", "created_at": "2026-11-20T09:30:00Z", "id": "1", "in_reply_to": "1"}'])
@example(['{"platform": "x", "text": "a", "author": "b", "created_at": "9999-12-31T23:59:59-23:59"}'])
def test_a_scenario_gives_its_posts_or_names_every_bad_line(lines: list[str]) -> None:
    lines = [line.replace("\n", " ") for line in lines]  # one line each, as a file's lines are read
    try:
        posts = parse_scenario(lines)
    except ScenarioError as exc:
        assert exc.problems and all(p.startswith("line ") for p in exc.problems)
        numbers = [int(p.split()[1].rstrip(":")) for p in exc.problems]
        assert numbers == sorted(numbers) and all(1 <= n <= len(lines) for n in numbers)
        return
    assert all(isinstance(p, ScenarioPost) and p.created_at.utcoffset() is not None for p in posts)
