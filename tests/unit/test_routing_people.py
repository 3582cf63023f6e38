"""Loading officers, offices, supervisors and rosters: the sample is complete, and every inconsistency is
reported at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from routing.jurisdictions import Jurisdictions, Station
from routing.people import PeopleDataError, load_organisation

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "bengaluru"


@pytest.fixture(scope="module")
def jurisdictions() -> Jurisdictions:
    return Jurisdictions.load(SAMPLE)


def test_every_sample_station_has_a_head_and_someone_on_duty_around_the_clock(jurisdictions: Jurisdictions) -> None:
    org = load_organisation(
        SAMPLE, jurisdictions.stations, desk_unit="blr-sm-desk", timezone="Asia/Kolkata", environ={}
    )
    routing_stations = [s for s in jurisdictions.stations.values() if s.layer in ("traffic", "law_order")]
    assert len(routing_stations) == 201
    for hour in (0, 7, 15, 23):
        at = datetime(2026, 11, 29, hour, 30, tzinfo=UTC)
        assert all(org.on_duty(s.id, at) for s in routing_stations)
    for station in jurisdictions.stations.values():
        assert org.head(station.id) is not None
    for station in routing_stations:  # station → ACP → DCP → commissioner
        chain = org.chain(station.id)
        assert len(chain) == 4 and org.is_dcp(chain[2]) and chain[-1] == "blr-commissioner"
    assert org.desk_officers()
    assert any(not o.is_active for o in org.officers.values())  # the sample keeps transferred officers on file


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


STATIONS = {
    "s1": Station("s1", "law_order", "S1", "", None, True),
    "s2": Station("s2", "law_order", "S2", "", None, True),
}


def _folder(tmp_path: Path, *, officers: str, supervisors: str, rosters: str, offices: str | None = None) -> Path:
    _write(
        tmp_path,
        "offices.csv",
        offices or "id,name,kind,parent_id\ncp,CP,commissioner,\ndesk,Desk,desk,cp\nacp,ACP,acp,cp\n",
    )
    _write(tmp_path, "officers.csv", "id,name,rank,unit_id,role,status,channels\n" + officers)
    _write(tmp_path, "supervisors.csv", "unit_id,supervisor_id\n" + supervisors)
    _write(tmp_path, "rosters.csv", "station_id,weekdays,start,end,officer_id\n" + rosters)
    return tmp_path


GOOD_OFFICERS = (
    "CP,Ann,CP,cp,head,active,json://127.0.0.1:9/cp\n"
    "DK,Dee,HC,desk,desk,active,json://127.0.0.1:9/dk\n"
    "AC,Ace,ACP,acp,head,active,mailto://ac@example.org\n"
    "H1,Hal,PI,s1,in_charge,active,\n"
    "H2,Hem,PI,s2,in_charge,active,\n"
)


def test_a_consistent_folder_loads(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        officers=GOOD_OFFICERS,
        supervisors="s1,acp\ns2,acp\n",
        rosters="s1,daily,00:00,00:00,H1\ns2,daily,00:00,00:00,H2\n",
    )
    org = load_organisation(folder, STATIONS, desk_unit="desk", timezone="Asia/Kolkata", environ={})
    assert org.chain("s1") == ["s1", "acp", "cp"]


def test_every_inconsistency_is_reported_at_once(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        offices="id,name,kind,parent_id\ncp,CP,commissioner,acp\ndesk,Desk,desk,cp\nacp,ACP,acp,cp\n",
        officers=GOOD_OFFICERS + "H1,Hal,PI,s2,duty,active,\nX9,Xen,PI,s9,duty,active,\nT1,Tom,PSI,s2,duty,retired,\n",
        supervisors="s1,acp\n",
        rosters="s1,daily,06:00,22:00,H1\ns2,daily,00:00,00:00,H2\ns7,daily,00:00,00:00,H2\n",
    )
    with pytest.raises(PeopleDataError) as caught:
        load_organisation(folder, STATIONS, desk_unit="desk", timezone="Asia/Kolkata", environ={})
    text = str(caught.value)
    assert "officer H1 is in two units, s1 and s2" in text
    assert "unknown station or office 's9'" in text
    assert "status 'retired'" in text
    assert "supervisor cycle: " in text and "acp → cp" in text
    assert "law_order station s2 has no supervisor" in text
    assert "rosters: unknown station 's7'" in text
    assert "roster gap: nobody on duty at s1 from mon 22:00 to tue 06:00" in text


def test_channel_secrets_come_from_the_environment(tmp_path: Path) -> None:
    officers = GOOD_OFFICERS.replace("json://127.0.0.1:9/dk", "tgram://${DESK_BOT_TOKEN}/42")
    folder = _folder(
        tmp_path,
        officers=officers,
        supervisors="s1,acp\ns2,acp\n",
        rosters="s1,daily,00:00,00:00,H1\ns2,daily,00:00,00:00,H2\n",
    )
    with pytest.raises(PeopleDataError, match="DESK_BOT_TOKEN not set"):
        load_organisation(folder, STATIONS, desk_unit="desk", timezone="Asia/Kolkata", environ={})
    org = load_organisation(
        folder, STATIONS, desk_unit="desk", timezone="Asia/Kolkata", environ={"DESK_BOT_TOKEN": "123:abc"}
    )
    channel = org.officers["DK"].channels[0]
    assert channel.reveal() == "tgram://123:abc/42"
    assert "123:abc" not in repr(org.officers["DK"])
