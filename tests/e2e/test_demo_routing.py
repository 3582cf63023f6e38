"""``run.py demo --once`` on posts with known places: each complaint lands on the right station's on-duty
officer (misconduct on the supervisor), and the demo's receiver gets exactly one message per outbox row.

The expected stations were checked by hand against ``data/bengaluru``: each named place is one whose
``places.csv``/``aliases.csv`` rows agree with the polygons (``routing.jurisdictions``) and lies 100 m
or more inside them; the coordinate-only posts lie 300 m or more inside theirs.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session_scope
from models.routing import Assignment, OutboxMessage
from models.tables import Complaint, Mention
from routing.jurisdictions import read_stations
from routing.people import Organisation, load_organisation
from tests import runfork
from tests.conftest import ROOT, pg_url_for

TRAFFIC, POLICE, PAGE = "blrcitytraffic", "BlrCityPolice", "104735829586723"


@dataclass(frozen=True)
class Post:
    author: str
    account: str
    text: str
    station: str | None  # the responsible station, by hand from data/bengaluru
    lat: float | None = None
    lon: float | None = None

    @property
    def platform(self) -> str:
        return "facebook" if self.account == PAGE else "x"


POSTS = [
    # traffic categories → the traffic station of the place
    Post("t01", TRAFFIC, "@blrcitytraffic Cars parked on both sides of the main road in Basavanagudi, buses cannot pass. Please tow them", "blr-traffic-basavanagudi"),
    Post("t02", TRAFFIC, "@blrcitytraffic Traffic jam near Whitefield, no police at the junction and nothing is moving", "blr-traffic-whitefield"),
    Post("t03", TRAFFIC, "@blrcitytraffic Two-wheelers driving on the wrong side in HSR Layout every morning, someone will get hurt", "blr-traffic-h-s-r-layout"),
    Post("t04", TRAFFIC, "@blrcitytraffic Triple riding without helmets near Kengeri bus stand, daily scene", "blr-traffic-kengeri"),
    Post("t05", TRAFFIC, "@blrcitytraffic Terrible accident at Hebbal flyover just now, a bike rider is bleeding badly and unconscious, send ambulance immediately", "blr-traffic-hebbal"),
    Post("t06", TRAFFIC, "@blrcitytraffic Minor accident between a car and an auto at Indiranagar 100 feet road, no injuries but road blocked", "blr-traffic-halasur"),
    Post("t07", TRAFFIC, "@blrcitytraffic Huge pothole in the middle of the road at Sadashivanagar, two-wheelers swerving dangerously", "blr-traffic-sadashivanagar"),
    Post("t08", TRAFFIC, "@blrcitytraffic Cars parked in the no parking zone at Electronic City every day, blocking the bus lane", "blr-traffic-electronic-city"),
    Post("t09", TRAFFIC, "@blrcitytraffic Massive traffic jam at Marathahalli bridge for over an hour, nothing is moving", "blr-traffic-h-a-l"),
    Post("t10", TRAFFIC, "@blrcitytraffic KR Puram bridge pe 45 min se jam hai, koi traffic cop nahi", "blr-traffic-k-r-puram"),
    Post("t11", TRAFFIC, "@blrcitytraffic Traffic signal not working at Hennur cross since morning, total chaos", "blr-traffic-hennur"),
    Post("t12", TRAFFIC, "@blrcitytraffic Knee deep waterlogging on the road at Wilson Garden, vehicles breaking down", "blr-traffic-wilsongarden"),
    Post("t13", TRAFFIC, "@blrcitytraffic Autos refusing to go by meter and overcharging at RT Nagar", "blr-traffic-r-t-nagar"),
    Post("DKShivakumar", TRAFFIC, "@blrcitytraffic Severe traffic jam at Yeshwanthpur, please deploy more traffic police", "blr-traffic-yeshwanthapura"),
    Post("t15", TRAFFIC, "@blrcitytraffic Illegal parking on the footpath outside shops in Koramangala, pedestrians walking on the road", "blr-traffic-adugodi"),
    Post("t16", TRAFFIC, "@blrcitytraffic Traffic jam in Chickpet, vehicles stuck for 40 minutes", "blr-traffic-city-market"),
    # law-and-order categories → the law-and-order station of the place
    Post("l01", POLICE, "@BlrCityPolice Loud music and party till 2 am every night in Koramangala, neighbours cannot sleep", "blr-lo-koramangala"),
    Post("Meena S", PAGE, "My mobile phone was stolen in a crowded bus at Majestic today", "blr-lo-upparpet"),
    Post("l03", POLICE, "@BlrCityPolice My laptop was stolen from my car in Whitefield", "blr-lo-whitefield"),
    Post("l04", POLICE, "@BlrCityPolice Burglary in our house in HSR Layout, gold and cash stolen while we were away", "blr-lo-h-s-r-layout"),
    Post("l05", POLICE, "@BlrCityPolice Drunk men fighting and threatening people with a knife near Indiranagar", "blr-lo-indiranagar"),
    Post("l06", POLICE, "@BlrCityPolice My 70 year old father is missing since morning from Basavanagudi, please help", "blr-lo-basavanagudi"),
    Post("Kiran R", PAGE, "Chain snatching incident near Rajarajeshwari Nagar arch today morning, two men on a bike", "blr-lo-rajarajeshwari-nagar"),
    Post("l08", POLICE, "@BlrCityPolice A man has been stalking my sister every day near Sadashivanagar, please act", "blr-lo-sadashivanagar"),
    Post("l09", POLICE, "@BlrCityPolice Received a fake KYC call and lost 50000 rupees by UPI fraud, I live in Hennur", "blr-lo-hennur"),
    Post("l10", POLICE, "@BlrCityPolice Eve teasing by a group of boys near Wilson Garden every evening, girls are scared", "blr-lo-wilsongarden"),
    Post("l11", POLICE, "@BlrCityPolice Gambling and public drinking every night in a lane in Chickpet, please raid", "blr-lo-city-market"),
    Post("l12", POLICE, "@BlrCityPolice A bouncer assaulted two customers outside a pub on Church Street", "blr-lo-cubbon-park"),
    Post("Lakshmi N", PAGE, "Someone broke into my shop in RT Nagar last night and stole the cash box", "blr-lo-r-t-nagar"),
    # no place in the text: the post's coordinates decide
    Post("c01", TRAFFIC, "@blrcitytraffic Bikes riding on the footpath here all the time", "blr-traffic-adugodi", 12.9352, 77.6245),
    Post("c02", POLICE, "@BlrCityPolice My phone was snatched right here by a man on a bike", "blr-lo-tilak-nagar", 12.9250, 77.5938),
    Post("c03", POLICE, "@BlrCityPolice Two men attacked a shopkeeper here and ran away", "blr-lo-hebbal", 13.0358, 77.5970),
    Post("c04", TRAFFIC, "@blrcitytraffic Heavy traffic jam right here, nothing moving for 30 minutes", "blr-traffic-whitefield", 12.9698, 77.7500),
    # misconduct: the accused station's supervisor, never the station
    Post("m01", POLICE, "@BlrCityPolice The inspector at Koramangala police station demanded a bribe of 5000 to register my complaint and was very rude", "blr-lo-koramangala"),
    # no station acts: the desk's queue, nobody notified
    Post("d01", TRAFFIC, "Thank you @blrcitytraffic, your officers cleared the jam quickly today. Great work!", None),
]
MISCONDUCT = ("m01", "blr-lo-acp-southeast-3")  # the office above blr-lo-koramangala (supervisors.csv)
EMERGENCY = ("t05", "blr-traffic-acp-northeast")  # the accident's supervisor copy: Hebbal's traffic ACP
VIP = ("DKShivakumar", "blr-traffic-dcp-north")  # a VIP handle in config.toml: Yeshwanthapura's DCP is copied
DESK = "d01"
ON_DUTY_RULES = {"on_duty", "on_duty_least_loaded"}


def write_posts(path: Path, posts: list[Post]) -> Path:
    start = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
    lines = []
    for i, post in enumerate(posts):
        line: dict[str, Any] = {
            "platform": post.platform,
            "account": post.account,
            "author": post.author,
            "text": post.text,
            "created_at": (start + timedelta(minutes=3 * i)).isoformat(),
        }
        if post.lat is not None:
            line |= {"lat": post.lat, "lon": post.lon}
        lines.append(json.dumps(line, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sample_organisation() -> Organisation:
    """The sample deployment's people, as the bot loads them."""
    config = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    city = ROOT / "data" / config["deployment"]["city"]
    return load_organisation(
        city,
        read_stations(city / "stations.csv"),
        desk_unit=config["routing"]["desk_office"],
        timezone=config["deployment"]["timezone"],
        environ={},
    )


@pytest.mark.slow
def test_demo_once_routes_each_complaint_to_its_station_on_duty_and_notifies_each_assignment_once(
    engine: Engine, tmp_path: Path
) -> None:
    notifications = tmp_path / "notifications.jsonl"
    done = runfork.run(  # run.py demo as a process of its own, forked from one that has imported the stack
        [
            "demo",
            "--once",
            "--scenario",
            str(write_posts(tmp_path / "routing.jsonl", POSTS)),
            "--database-url",
            pg_url_for(engine),
            "--notifications",
            str(notifications),
            "--followup-hours",
            "0",  # routing's messages only: no officer acts, no deadline passes
        ],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    org = sample_organisation()

    with session_scope(engine) as session:
        case_of = {m.text: m.complaint_id for m in session.exec(select(Mention)).all()}
        complaints = {c.id: c for c in session.exec(select(Complaint)).all()}
        assignments = session.exec(select(Assignment)).all()
        # the commissioner's overdue digest goes out on the first cycle of a period, whatever routing did
        outbox = session.exec(select(OutboxMessage).where(OutboxMessage.purpose != "overdue_digest")).all()
    assert sorted(case_of) == sorted(p.text for p in POSTS) and len(complaints) == len(POSTS)

    expected_messages: Counter[tuple[str, str]] = Counter()
    for post in POSTS:
        complaint = complaints[case_of[post.text]]
        docket, station = complaint.docket, post.station
        about = f"{post.author}: {complaint.category} at {complaint.place_name!r} → {complaint.station_id}"
        assert complaint.station_id == station, about
        rows = [a for a in assignments if a.complaint_id == complaint.id]
        messages = [m for m in outbox if m.complaint_id == complaint.id]
        if post.author == DESK:
            assert complaint.status == "desk" and [a.role for a in rows] == ["desk"] and messages == [], about
            continue
        assert station is not None and docket is not None
        roles = {a.role: a for a in rows}
        assert len(roles) == len(rows), about  # one assignee, at most one copy of each kind
        lead = roles["assignee"]
        officer = org.officers[lead.officer_id or ""]
        if post.author == MISCONDUCT[0]:
            supervisor = org.head(MISCONDUCT[1])
            assert supervisor is not None and lead.officer_id == supervisor.id, about
            assert lead.rule == "misconduct_to_supervisor" and lead.unit_id == MISCONDUCT[1], about
            nobody_there = {a.officer_id for a in rows} | {m.officer_id for m in messages}
            assert all(org.officers[o or ""].unit_id != station for o in nobody_there), about
        else:
            on_duty = org.on_duty(station, lead.assigned_at)  # the roster at the moment it was assigned
            assert lead.officer_id in on_duty and lead.rule in ON_DUTY_RULES, f"{about}: {lead.officer_id} {on_duty}"
            assert officer.unit_id == lead.unit_id == station, about
        copies = {"supervisor_copy"} if complaint.is_emergency and post.author != MISCONDUCT[0] else set()
        copies |= {"dcp_copy"} if complaint.is_vip else set()
        assert set(roles) == {"assignee"} | copies, about
        for author, role, unit in ((EMERGENCY[0], "supervisor_copy", EMERGENCY[1]), (VIP[0], "dcp_copy", VIP[1])):
            if post.author == author:
                head = org.head(unit)
                assert role in roles and head is not None and roles[role].officer_id == head.id, about
        for a in rows:  # one outbox row per recipient and channel, each sent
            assert a.officer_id is not None and a.rank == org.officers[a.officer_id].rank, about
            mine = [m for m in messages if m.officer_id == a.officer_id]
            assert len(mine) == len(org.officers[a.officer_id].channels) >= 1, about
            assert {m.status for m in mine} == {"sent"}, about
            expected_messages[(a.officer_id, docket)] += len(mine)
    assert len(outbox) == sum(expected_messages.values())  # nothing for anyone else

    received = [json.loads(line) for line in notifications.read_text(encoding="utf-8").splitlines()]
    received = [r for r in received if not r["body"]["title"].startswith("Overdue")]
    got = Counter((r["officer"], r["body"]["title"].split("]", 1)[0].removeprefix("[")) for r in received)
    assert got == expected_messages  # none missing, none twice, each to the officer it was for
    for r in received:
        officer = org.officers[r["officer"]]
        docket = r["body"]["title"].split("]", 1)[0].removeprefix("[")
        assert r["body"]["message"].startswith(f"{officer.rank} {officer.name}: "), r
        assert f"Docket: {docket}\n" in r["body"]["message"], r
    assert summary["notifications_file"] == str(notifications)
    assert summary["notifications_received"] - summary["overdue_digests"] == len(received) == len(outbox)
    assert summary["assigned"] == len(POSTS) - 1 and summary["to_desk"] == 1
