"""Who may see what: each role's pages, where it lands after sign-in, and which cases it may open.

Pure functions over the case dicts of ``models.cases.list_cases``. An officer sees the cases they hold
(an open assignee assignment of theirs), never their station's other cases: a complaint that accuses the
police is filed under the accused station, and nobody there may read it. A supervisor sees the cases of
the stations under their unit and any case they are assigned or copied on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

from dashboard.sessions import Viewer

UnitsUnder = Callable[[str], Collection[str]]

LANDING = {"commissioner": "/leaderboard", "supervisor": "/leaderboard", "officer": "/queue", "desk": "/triage"}
PAGES: dict[str, frozenset[str]] = {
    "/leaderboard": frozenset({"commissioner", "supervisor", "desk"}),
    "/queue": frozenset({"commissioner", "supervisor", "officer", "desk"}),
    "/triage": frozenset({"commissioner", "supervisor", "desk"}),
    "/health": frozenset({"commissioner", "supervisor", "officer", "desk"}),
}
SEES_EVERY_CASE = frozenset({"commissioner", "desk"})


def landing(role: str) -> str:
    return LANDING.get(role, "/health")


def may_open(role: str, page: str) -> bool:
    return role in PAGES.get(page, frozenset())


def nav(role: str) -> list[tuple[str, str]]:
    """(path, label) of the pages the role may open, in menu order."""
    labels = {"/leaderboard": "Leaderboard", "/queue": "Queue", "/triage": "Triage", "/health": "Health"}
    return [(path, label) for path, label in labels.items() if may_open(role, path)]


def may_see(viewer: Viewer, case: Mapping[str, Any], stations: Collection[str]) -> bool:
    """Whether the viewer may see the case; ``stations`` are the units under a supervisor's unit."""
    if viewer.role in SEES_EVERY_CASE:
        return True
    assignments = case.get("assignments", [])
    if viewer.role == "officer":
        return is_held_by(viewer, case)
    if viewer.role == "supervisor":
        is_theirs = viewer.officer_id is not None and any(a["officer_id"] == viewer.officer_id for a in assignments)
        return is_theirs or (case.get("station") is not None and case["station"] in stations)
    return False


def stations_of(viewer: Viewer, units_under: UnitsUnder) -> Collection[str]:
    if viewer.role != "supervisor" or viewer.unit_id is None:
        return frozenset()
    return {viewer.unit_id, *units_under(viewer.unit_id)}


def is_held_by(viewer: Viewer, case: Mapping[str, Any]) -> bool:
    return viewer.officer_id is not None and any(
        a["officer_id"] == viewer.officer_id and a["role"] == "assignee" and a["status"] == "open"
        for a in case.get("assignments", [])
    )


def safe_next(target: str | None) -> str | None:
    """A path on this site to go to after sign-in, or None: never another site (``//evil``, ``/\\evil``,
    ``https://...``), so the sign-in page cannot be used to send someone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target if len(target) <= 500 else None
