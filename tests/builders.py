"""Builders for test data: ``make_x_account(**overrides)`` and friends."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from models.posts import FetchedMention
from models.secret import Secret
from monitor.settings import FacebookPage, PollingSettings, XAccount
from routing.jurisdictions import Station
from routing.people import Office, Officer, Organisation
from routing.rosters import Roster, Shift, parse_clock, parse_weekdays

SANDBOX_TOKEN = "sandbox-token"
BENGALURU = ZoneInfo("Asia/Kolkata")


def make_x_account(**overrides: Any) -> XAccount:
    account = XAccount(
        key="blrcitytraffic",
        user_id="1021737162349010945",
        bearer_token=Secret(SANDBOX_TOKEN),
        consumer_key=Secret("ck"),
        consumer_secret=Secret("cs"),
        access_token=Secret(SANDBOX_TOKEN),
        access_token_secret=Secret("ats"),
    )
    return replace(account, **overrides)


def make_facebook_page(**overrides: Any) -> FacebookPage:
    page = FacebookPage(key="104735829586723", name="Bengaluru City Police", page_token=Secret(SANDBOX_TOKEN))
    return replace(page, **overrides)


def make_polling(**overrides: Any) -> PollingSettings:
    return replace(PollingSettings(request_timeout_s=3.0, backoff_initial_s=5.0), **overrides)


def make_mention(text: str = "Signal jumping at Silk Board @blrcitytraffic", **overrides: Any) -> FetchedMention:
    values: dict[str, Any] = {
        "platform": "x",
        "external_id": "1800000000000000001",
        "text": text,
        "created_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        "author_id": "42",
        "author_handle": "citizen",
    }
    values.update(overrides)
    return FetchedMention(**values)


def write_scenario(path: Path, n_x: int, n_fb: int, *, start: datetime | None = None) -> Path:
    """A JSONL scenario of ``n_x`` X mentions and ``n_fb`` Facebook comments, one every 20 s."""
    start = start or datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    lines = []
    for i in range(n_x):
        lines.append(
            {
                "platform": "x",
                "text": f"@blrcitytraffic wrong side driving near Silk Board #{i}",
                "author": f"rider{i % 17}",
                "created_at": (start + timedelta(seconds=20 * i)).isoformat(),
                "account": "blrcitytraffic",
            }
        )
    for i in range(n_fb):
        lines.append(
            {
                "platform": "facebook",
                "text": f"Chain snatching near Jayanagar 4th block, report {i}",
                "author": f"Resident {i % 11}",
                "created_at": (start + timedelta(seconds=20 * i + 9)).isoformat(),
                "account": "104735829586723",
            }
        )
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def _station(sid: str, layer: str, parent: str | None = None) -> Station:
    return Station(sid, layer, sid.upper(), "", parent, layer in ("traffic", "law_order"))


def _officer(oid: str, unit: str, role: str = "duty", status: str = "active", **kw: Any) -> Officer:
    return Officer(
        oid, f"Officer {oid}", kw.get("rank", "PSI"), unit, role, status, (Secret(f"json://127.0.0.1:9/{oid}"),)
    )


def make_org(*, officers: list[Officer] | None = None, shifts: list[Shift] | None = None) -> Organisation:
    """A small made-up force (the routing rules' tables are written against it): traffic station TS under a
    traffic ACP and DCP; law-and-order stations L1 and L2 under ACP office A1, and L3 alone under ACP office
    A2; both ACP offices under DCP office D, under the commissioner; the desk; times in Bengaluru.
    ``officers`` and ``shifts`` replace the whole cast or roster."""
    stations = {
        s.id: s
        for s in [
            _station("tdcp", "traffic_dcp"),
            _station("tacp", "traffic_acp", "tdcp"),
            _station("ts", "traffic", "tacp"),
            _station("l1", "law_order"),
            _station("l2", "law_order"),
            _station("l3", "law_order"),
        ]
    }
    offices = {
        o.id: o
        for o in [
            Office("cp", "Commissioner", "commissioner"),
            Office("desk", "Social Media Desk", "desk", "cp"),
            Office("d", "DCP Division", "dcp", "cp"),
            Office("a1", "ACP 1", "acp", "d"),
            Office("a2", "ACP 2", "acp", "d"),
        ]
    }
    supervisors = {"l1": "a1", "l2": "a1", "l3": "a2", "tdcp": "cp"}
    people = (
        officers
        if officers is not None
        else [
            _officer("CP", "cp", "head"),
            _officer("DESK1", "desk", "desk"),
            _officer("DCP", "d", "head"),
            _officer("ACP1", "a1", "head"),
            _officer("ACP2", "a2", "head"),
            _officer("TDCP", "tdcp", "head"),
            _officer("TACP", "tacp", "head"),
            _officer("TS-HEAD", "ts", "in_charge"),
            _officer("TS-DAY", "ts"),
            _officer("TS-NIGHT", "ts"),
            _officer("L1-HEAD", "l1", "in_charge"),
            _officer("L1-A", "l1"),
            _officer("L1-B", "l1"),
            _officer("L1-NIGHT", "l1"),
            _officer("L2-HEAD", "l2", "in_charge"),
            _officer("L3-HEAD", "l3", "in_charge"),
            _officer("L3-DUTY", "l3"),
        ]
    )
    roster = (
        shifts
        if shifts is not None
        else [
            _shift("ts", "TS-DAY", "08:00", "20:00"),
            _shift("ts", "TS-NIGHT", "20:00", "08:00"),
            _shift("l1", "L1-A", "06:00", "22:00"),
            _shift("l1", "L1-B", "06:00", "22:00"),
            _shift("l1", "L1-NIGHT", "22:00", "06:00"),
            _shift("l2", "L2-HEAD", "00:00", "00:00"),
            _shift("l3", "L3-DUTY", "00:00", "00:00"),
        ]
    )
    return Organisation(stations, offices, {o.id: o for o in people}, supervisors, Roster(roster), "desk", BENGALURU)


def _shift(station: str, officer: str, start: str, end: str, days: str = "daily") -> Shift:
    return Shift(station, officer, parse_weekdays(days), parse_clock(start), parse_clock(end))
