"""Write the sample deployment's people: made-up officers, offices, supervisors, rosters and cameras.

    python -m routing.make_sample_people [data/bengaluru]

Reproducible (fixed seed, stations read in file order). Every station gets an officer in charge and a
24×7 roster of three 8-hour shifts (the morning shift has two officers, so least-loaded matters);
law-and-order stations are grouped into ACP sub-divisions of four and those into DCP divisions named
after the traffic ACP area that holds them. Addresses are reserved examples only.
"""

from __future__ import annotations

import csv
import math
import random
import sys
from collections import defaultdict
from pathlib import Path

from models.taxonomy import Layer
from routing.jurisdictions import Jurisdictions

SEED = 20261123
FIRST = (
    "Anil Bhavya Chandan Deepa Eshwar Farida Girish Harini Imran Jyothi Kiran Lakshmi Manjunath Nagaraj "
    "Pavithra Raghu Shwetha Suresh Tejaswini Uma Vinay Yashodha Zubair Ramesh Kavya Mohan Sowmya Prakash".split()
)
LAST = "Gowda Rao Shetty Naik Hegde Kumar Reddy Murthy Patil Swamy Prasad Khan Bhat Achar Iyengar Nayak".split()
SHIFTS = (("06:00", "14:00", 2), ("14:00", "22:00", 1), ("22:00", "06:00", 1))
OWNERS = ("Resident Welfare Association", "Apartment association", "Shop owner", "Temple trust", "School")
DESK = "blr-sm-desk"
# traffic stations that stations.csv leaves without a parent (and a polygon): their ACP area by locality
TRAFFIC_ORPHANS = {
    "blr-traffic-bellanduru": "blr-traffic-acp-hsr-layout",
    "blr-traffic-j-p-nagar": "blr-traffic-acp-south",
    "blr-traffic-jnanabharathi": "blr-traffic-acp-vijayanagar",
    "blr-traffic-mahadevapura": "blr-traffic-acp-whitefield",
    "blr-traffic-sanjaynagar": "blr-traffic-acp-northeast",
    "blr-traffic-sheshadripuram": "blr-traffic-acp-central",
    "blr-traffic-thalagattapura": "blr-traffic-acp-south",
}
COMMISSIONER = "blr-commissioner"


def main(out_dir: Path) -> None:
    rng = random.Random(SEED)
    jur = Jurisdictions.load(out_dir)
    stations = list(jur.stations.values())
    officers: list[list[str]] = []
    rosters: list[list[str]] = []
    used_names: set[str] = set()

    def person(rank: str, unit: str, role: str, channel: str, status: str = "active") -> str:
        officer_id = f"BCP{len(officers) + 1:04d}"
        name = _name(rng, used_names)
        url = {
            "json": f"json://127.0.0.1:9/officers/{officer_id}",
            "mail": f"mailto://{officer_id.lower()}@example.org",
            "tgram": "tgram://000000:TEST/0",
        }[channel]
        officers.append([officer_id, name, rank, unit, role, status, url])
        return officer_id

    offices, supervisors = _law_order_hierarchy(jur)
    for office_id, _, kind, _ in offices:
        rank = {"acp": "ACP", "dcp": "DCP", "commissioner": "Commissioner of Police", "desk": "Inspector"}[kind]
        person(rank, office_id, "head", "mail")
    person("Sub-Inspector", DESK, "desk", "json")
    person("Head Constable", DESK, "desk", "tgram")
    for station in stations:
        if station.layer in ("traffic_acp", "traffic_dcp"):
            person("ACP" if station.layer == "traffic_acp" else "DCP", station.id, "head", "mail")
            continue
        person("Inspector", station.id, "in_charge", "mail")
        if len(officers) % 37 == 0:  # a few former officers, transferred out, still on file
            person("Sub-Inspector", station.id, "duty", "json", status="transferred")
        for start, end, count in SHIFTS:
            for _ in range(count):
                rank = rng.choice(("Sub-Inspector", "Assistant Sub-Inspector"))
                rosters.append([station.id, "daily", start, end, person(rank, station.id, "duty", "json")])

    _write(out_dir / "offices.csv", ["id", "name", "kind", "parent_id"], offices)
    _write(out_dir / "supervisors.csv", ["unit_id", "supervisor_id"], supervisors)
    _write(out_dir / "officers.csv", ["id", "name", "rank", "unit_id", "role", "status", "channels"], officers)
    _write(out_dir / "rosters.csv", ["station_id", "weekdays", "start", "end", "officer_id"], rosters)
    _write(out_dir / "cameras.csv", ["id", "name", "lat", "lon", "owner", "contact"], _cameras(rng, jur))


def _law_order_hierarchy(jur: Jurisdictions) -> tuple[list[list[str]], list[list[str]]]:
    """Offices and the supervisor of every unit stations.csv leaves without a parent."""
    traffic_points = {s.id: p for s in jur.stations.values() if s.layer == "traffic" and (p := jur.station_point(s.id))}
    divisions: dict[str, list[tuple[str, tuple[float, float]]]] = defaultdict(list)
    for station in jur.stations.values():
        point = jur.station_point(station.id)
        if station.layer != "law_order" or point is None:
            continue
        traffic = jur.station_at(point[0], point[1], Layer.TRAFFIC) or min(
            traffic_points, key=lambda t: math.dist(traffic_points[t], point)
        )
        acp_area = jur.chain_of_command(traffic)[1]  # traffic station → traffic ACP
        divisions[acp_area.removeprefix("blr-traffic-acp-")].append((station.id, point))
    offices = [
        [COMMISSIONER, "Commissioner of Police, Bengaluru City", "commissioner", ""],
        [DESK, "Social Media Desk", "desk", COMMISSIONER],
    ]
    supervisors = [[s.id, COMMISSIONER] for s in jur.stations.values() if s.layer == "traffic_dcp"]
    supervisors += [
        [s.id, TRAFFIC_ORPHANS[s.id]] for s in jur.stations.values() if s.layer == "traffic" and s.id in TRAFFIC_ORPHANS
    ]
    for slug, members in sorted(divisions.items()):
        dcp = f"blr-lo-dcp-{slug}"
        title = slug.replace("-", " ").title()
        offices.append([dcp, f"DCP {title} Division", "dcp", COMMISSIONER])
        members.sort(key=lambda m: (round(m[1][0], 2), m[1][1]))  # sweep south to north
        for number, start in enumerate(range(0, len(members), 4), start=1):
            acp = f"blr-lo-acp-{slug}-{number}"
            offices.append([acp, f"ACP {title} Sub-Division {number}", "acp", dcp])
            supervisors.extend([station_id, acp] for station_id, _ in members[start : start + 4])
    law_order_left = [s.id for s in jur.stations.values() if s.layer == "law_order" and not jur.station_point(s.id)]
    supervisors.extend([station_id, f"blr-lo-acp-{sorted(divisions)[0]}-1"] for station_id in law_order_left)
    return offices, supervisors


def _cameras(rng: random.Random, jur: Jurisdictions) -> list[list[str]]:
    cameras: list[list[str]] = []
    for station in jur.stations.values():
        point = jur.station_point(station.id)
        if station.layer != "law_order" or point is None:
            continue
        for _ in range(rng.randint(0, 3)):
            number = len(cameras) + 1
            lat = point[0] + rng.uniform(-0.004, 0.004)
            lon = point[1] + rng.uniform(-0.004, 0.004)
            owner = rng.choice(OWNERS)
            cameras.append(
                [
                    f"cam-{number:04d}",
                    f"{owner} camera near {station.name.removesuffix(' PS')}",
                    f"{lat:.6f}",
                    f"{lon:.6f}",
                    owner,
                    f"cameras{number:04d}@example.org",
                ]
            )
    return cameras


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if name not in used or len(used) > len(FIRST) * len(LAST) // 2:
            used.add(name)
            return name


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/bengaluru"))
