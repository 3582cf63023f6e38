"""Officers, supervising offices and the chain of command above every station.

A deployment's people folder holds ``officers.csv`` (id, name, rank, unit_id, role, status, channels, and
optionally digest_every_min: non-emergency messages batched per window of that many minutes, 0 = at once),
``offices.csv`` (id, name, kind, parent_id: ACP/DCP offices, the commissioner, the social-media desk),
``supervisors.csv`` (unit_id, supervisor_id: the parent of a unit that ``stations.csv`` leaves without
one, such as every law-and-order station) and ``rosters.csv`` (see :mod:`routing.rosters`).
``channels`` are Apprise URLs separated by spaces; ``${NAME}`` inside one is read from the environment
so that tokens never sit in the files. :func:`check` reports every inconsistency at once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from models.secret import Secret
from routing.jurisdictions import Station
from routing.rosters import Roster, describe_week_minute, read_rosters

ROUTING_LAYERS = frozenset({"traffic", "law_order"})  # stations that take cases and keep a roster
OFFICE_KINDS = frozenset({"acp", "dcp", "commissioner", "desk"})
OFFICER_STATUSES = frozenset({"active", "transferred", "inactive", "on_leave"})
HEAD_ROLES = ("in_charge", "head")
MAX_DIGEST_MIN = 24 * 60
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PeopleDataError(ValueError):
    """The people files are inconsistent; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(problems)} problem(s) in the people data:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Officer:
    id: str
    name: str
    rank: str
    unit_id: str  # a station id or an office id
    role: str  # in_charge / head / duty / desk / ...
    status: str = "active"
    channels: tuple[Secret, ...] = ()
    digest_every_min: int = 0  # 0: each message at once; else non-emergency messages batched per window

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Office:
    id: str
    name: str
    kind: str  # acp / dcp / commissioner / desk
    parent_id: str | None = None


@dataclass(frozen=True)
class Organisation:
    """Who is where, who supervises whom and who is on duty; everything the assignment rules read."""

    stations: Mapping[str, Station]
    offices: Mapping[str, Office]
    officers: Mapping[str, Officer]
    supervisors: Mapping[str, str]  # unit → supervising unit, for units stations.csv gives no parent
    roster: Roster
    desk_unit: str
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    _members: Mapping[str, list[Officer]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        members: dict[str, list[Officer]] = {}
        for officer in self.officers.values():
            members.setdefault(officer.unit_id, []).append(officer)
        object.__setattr__(self, "_members", members)

    def unit_name(self, unit_id: str) -> str:
        unit = self.stations.get(unit_id) or self.offices.get(unit_id)
        return unit.name if unit is not None else unit_id

    def is_unit(self, unit_id: str) -> bool:
        return unit_id in self.stations or unit_id in self.offices

    def parent(self, unit_id: str) -> str | None:
        station = self.stations.get(unit_id)
        if station is not None and station.parent_id:
            return station.parent_id
        if unit_id in self.supervisors:
            return self.supervisors[unit_id]
        office = self.offices.get(unit_id)
        return office.parent_id if office is not None else None

    def chain(self, unit_id: str) -> list[str]:
        """The unit and every unit above it, nearest first (stops at a cycle)."""
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parent(current)
        return chain

    def is_dcp(self, unit_id: str) -> bool:
        station = self.stations.get(unit_id)
        office = self.offices.get(unit_id)
        return (station is not None and station.layer == "traffic_dcp") or (office is not None and office.kind == "dcp")

    def members(self, unit_id: str) -> list[Officer]:
        """Active officers of the unit."""
        return [o for o in self._members.get(unit_id, []) if o.is_active]

    def head(self, unit_id: str) -> Officer | None:
        """The active officer in charge of the unit (any active member when the head is away)."""
        members = self.members(unit_id)
        heads = [o for o in members if o.role in HEAD_ROLES]
        return (heads or members)[0] if members else None

    def on_duty(self, unit_id: str, now: datetime) -> list[str]:
        """Active officers rostered at the unit at ``now`` (aware UTC)."""
        local = now.astimezone(self.tz)
        return [
            i
            for i in self.roster.on_duty(unit_id, local)
            if i in self.officers and self.officers[i].is_active and self.officers[i].unit_id == unit_id
        ]

    def is_rostered(self, officer_id: str) -> bool:
        """True when the officer has shifts (False: reachable at any hour, as a head or an office is)."""
        return self.roster.is_rostered(officer_id)

    def desk_officers(self) -> list[Officer]:
        return self.members(self.desk_unit)


def check(org: Organisation) -> list[str]:
    """Every inconsistency: unknown units, cycles, units without a head, roster gaps and strangers."""
    problems: list[str] = []
    for unit_id, supervisor_id in sorted(org.supervisors.items()):
        if not org.is_unit(unit_id):
            problems.append(f"supervisors: unknown station or office {unit_id!r}")
        if not org.is_unit(supervisor_id):
            problems.append(f"supervisors: {unit_id!r} is supervised by unknown unit {supervisor_id!r}")
        station = org.stations.get(unit_id)
        if station is not None and station.parent_id and station.parent_id != supervisor_id:
            problems.append(f"supervisors: {unit_id!r} already has parent {station.parent_id!r} in stations.csv")
    for office in org.offices.values():
        if office.parent_id and not org.is_unit(office.parent_id):
            problems.append(f"offices: {office.id!r} has unknown parent {office.parent_id!r}")
    cycles: set[frozenset[str]] = set()
    for unit_id in sorted({*org.stations, *org.offices}):
        chain = org.chain(unit_id)
        above = org.parent(chain[-1])
        if above is not None and above in chain:
            loop = chain[chain.index(above) :]
            if frozenset(loop) not in cycles:
                cycles.add(frozenset(loop))
                problems.append(f"supervisor cycle: {' → '.join([*loop, above])}")
    for officer in org.officers.values():
        if not org.is_unit(officer.unit_id):
            problems.append(
                f"officers: {officer.id} ({officer.name}) is in unknown station or office {officer.unit_id!r}"
            )
    if org.desk_unit not in org.offices:
        problems.append(f"routing.desk_office {org.desk_unit!r} is not an office in offices.csv")
    elif not org.desk_officers():
        problems.append(f"the social-media desk {org.desk_unit!r} has no active officer")
    for unit_id in sorted({*org.stations, *org.offices} - {org.desk_unit}):
        if org.head(unit_id) is None:
            problems.append(f"{unit_id} ({org.unit_name(unit_id)}) has no active officer in charge")
        station = org.stations.get(unit_id)
        if station is not None and station.layer in ROUTING_LAYERS and org.parent(unit_id) is None:
            problems.append(f"{station.layer} station {unit_id} has no supervisor (add it to supervisors.csv)")
    problems.extend(_roster_problems(org))
    return problems


def _roster_problems(org: Organisation) -> list[str]:
    problems: list[str] = []
    for station_id in sorted(org.roster.station_ids):
        if station_id not in org.stations:
            problems.append(f"rosters: unknown station {station_id!r}")
            continue
        for shift in org.roster.shifts(station_id):
            officer = org.officers.get(shift.officer_id)
            if officer is None:
                problems.append(f"rosters: {station_id} rosters unknown officer {shift.officer_id!r}")
            elif officer.unit_id != station_id:
                problems.append(
                    f"rosters: officer {officer.id} is rostered at {station_id} but posted to {officer.unit_id}"
                )
    counts = {i: o.is_active for i, o in org.officers.items()}
    for station in sorted(org.stations.values(), key=lambda s: s.id):
        if station.layer not in ROUTING_LAYERS:
            continue
        for begin, finish in org.roster.gaps(station.id, only=counts)[:3]:
            problems.append(
                f"roster gap: nobody on duty at {station.id} from {describe_week_minute(begin)}"
                f" to {describe_week_minute(finish)}"
            )
    return problems


def read_officers(path: Path, environ: Mapping[str, str]) -> tuple[dict[str, Officer], list[str]]:
    officers: dict[str, Officer] = {}
    problems: list[str] = []
    columns = ("id", "name", "rank", "unit_id", "role", "status", "channels")
    for number, row in _rows(path, columns, problems, optional=("digest_every_min",)):
        where = f"{path.name}, row {number}"
        officer_id, unit_id, status = row["id"], row["unit_id"], row["status"] or "active"
        if not officer_id or not row["name"]:
            problems.append(f"{where}: empty id or name")
            continue
        if officer_id in officers:
            other = officers[officer_id].unit_id
            if other != unit_id:
                problems.append(f"{where}: officer {officer_id} is in two units, {other} and {unit_id}")
            else:
                problems.append(f"{where}: officer {officer_id} is listed twice")
            continue
        if status not in OFFICER_STATUSES:
            problems.append(f"{where}: status {status!r} is not one of {sorted(OFFICER_STATUSES)}")
        channels = []
        for url in row["channels"].split():
            missing = [name for name in _ENV_REF.findall(url) if not environ.get(name)]
            if missing:
                problems.append(f"{where}: environment variable(s) {', '.join(missing)} not set ({officer_id})")
                continue
            channels.append(Secret(_ENV_REF.sub(lambda m: environ[m.group(1)], url)))
        digest = row["digest_every_min"] or "0"
        if not digest.isdecimal() or len(digest) > 6 or int(digest) > MAX_DIGEST_MIN:
            problems.append(f"{where}: digest_every_min {digest!r} is not a whole number of minutes 0–{MAX_DIGEST_MIN}")
            digest = "0"
        officers[officer_id] = Officer(
            officer_id, row["name"], row["rank"], unit_id, row["role"] or "duty", status, tuple(channels), int(digest)
        )
    return officers, problems


def read_offices(path: Path) -> tuple[dict[str, Office], list[str]]:
    offices: dict[str, Office] = {}
    problems: list[str] = []
    for number, row in _rows(path, ("id", "name", "kind", "parent_id"), problems):
        if row["id"] in offices:
            problems.append(f"{path.name}, row {number}: duplicate office {row['id']!r}")
        elif row["kind"] not in OFFICE_KINDS:
            problems.append(f"{path.name}, row {number}: kind {row['kind']!r} is not one of {sorted(OFFICE_KINDS)}")
        else:
            offices[row["id"]] = Office(row["id"], row["name"], row["kind"], row["parent_id"] or None)
    return offices, problems


def read_supervisors(path: Path) -> tuple[dict[str, str], list[str]]:
    supervisors: dict[str, str] = {}
    problems: list[str] = []
    for number, row in _rows(path, ("unit_id", "supervisor_id"), problems):
        if row["unit_id"] in supervisors:
            problems.append(f"{path.name}, row {number}: {row['unit_id']!r} has two supervisors")
        supervisors[row["unit_id"]] = row["supervisor_id"]
    return supervisors, problems


def load_organisation(
    people_dir: Path, stations: Mapping[str, Station], *, desk_unit: str, timezone: str, environ: Mapping[str, str]
) -> Organisation:
    """Read the people folder and check it against the stations; raise PeopleDataError listing every problem."""
    officers, problems = read_officers(people_dir / "officers.csv", environ)
    offices, more = read_offices(people_dir / "offices.csv")
    problems += more
    supervisors, more = read_supervisors(people_dir / "supervisors.csv")
    problems += more
    shifts, more = read_rosters(people_dir / "rosters.csv") if (people_dir / "rosters.csv").exists() else ([], [])
    problems += more
    for clash in sorted(set(offices) & set(stations)):
        problems.append(f"offices: {clash!r} is also a station id")
    org = Organisation(stations, offices, officers, supervisors, Roster(shifts), desk_unit, ZoneInfo(timezone))
    problems += check(org)
    if problems:
        raise PeopleDataError(problems)
    return org


def _rows(
    path: Path, columns: Sequence[str], problems: list[str], *, optional: Sequence[str] = ()
) -> list[tuple[int, dict[str, str]]]:
    """The rows as cleaned strings (an ``optional`` column the file lacks reads as empty)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                problems.append(f"{path}: missing column(s) {', '.join(missing)}")
                return []
            wanted = (*columns, *optional)
            return [(n, {c: (row.get(c) or "").strip() for c in wanted}) for n, row in enumerate(reader, start=2)]
    except OSError as exc:
        problems.append(f"cannot read {path}: {exc.strerror}")
        return []
    except (UnicodeDecodeError, csv.Error) as exc:  # not UTF-8 text, or a field past csv's limit
        problems.append(f"cannot read {path}: {exc}")
        return []
