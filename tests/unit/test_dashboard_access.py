"""Who may see which case, where each role lands, where a sign-in may send the browser, and what the desk is
shown: pure rules over case dicts, as ``models.cases.list_cases`` returns them."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.access import landing, may_open, may_see, safe_next, stations_of
from dashboard.pages import triage_reasons
from dashboard.sessions import Viewer, user_agent_summary


def viewer(role: str, officer_id: str | None = None, unit_id: str | None = None) -> Viewer:
    return Viewer(1, role, role, officer_id, unit_id)


def case(station: str | None = "s1", *assignments: tuple[str | None, str, str], **overrides: Any) -> dict[str, Any]:
    """A case dict; each assignment is (officer_id, role, status)."""
    return {
        "docket": "BLR-2026-000001",
        "station": station,
        "status": "assigned",
        "confidence": 0.9,
        "emergency": False,
        "notifications": {},
        "replies": [],
        "assignments": [{"officer_id": o, "role": r, "status": s, "act_by": None} for o, r, s in assignments],
        **overrides,
    }


HELD = ("L1-A", "assignee", "open")
OFFICER = viewer("officer", "L1-A", "s1")
SUPERVISOR = viewer("supervisor", "ACP-1", "d1")


@pytest.mark.parametrize(
    ("who", "the_case", "stations", "sees"),
    [
        (OFFICER, case("s1", HELD), set(), True),
        (OFFICER, case("s1", ("L1-B", "assignee", "open")), set(), False),  # the same station, another officer
        (OFFICER, case("s1", ("L1-A", "assignee", "moved")), set(), False),  # reassigned away
        (OFFICER, case("s1", ("L1-A", "supervisor_copy", "open")), set(), False),
        (OFFICER, case("s1"), set(), False),
        # an accusation is filed under the accused station: its officers never see it
        (OFFICER, case("s1", ("ACP-1", "assignee", "open"), misconduct=True), set(), False),
        (viewer("officer"), case("s1", (None, "desk", "open")), set(), False),  # an officer account with no id
        (SUPERVISOR, case("s1"), {"d1", "s1", "s2"}, True),
        (SUPERVISOR, case("s9"), {"d1", "s1", "s2"}, False),
        (SUPERVISOR, case("s9", ("ACP-1", "supervisor_copy", "closed")), {"d1"}, True),  # copied on it
        (SUPERVISOR, case(None), {"d1"}, False),
        (viewer("supervisor", "ACP-2"), case("s1"), set(), False),  # a supervisor with no unit
        (viewer("desk"), case(None), set(), True),
        (viewer("commissioner"), case("s9"), set(), True),
        (viewer("inspector"), case("s1", HELD), {"s1"}, False),  # an unknown role sees nothing
    ],
)
def test_who_may_see_a_case(who: Viewer, the_case: dict[str, Any], stations: set[str], sees: bool) -> None:
    assert may_see(who, the_case, stations) is sees


def test_a_supervisor_oversees_their_unit_and_what_the_chain_puts_under_it() -> None:
    chain = {"d1": {"s1", "s2"}}
    assert stations_of(SUPERVISOR, lambda unit: chain.get(unit, set())) == {"d1", "s1", "s2"}
    assert stations_of(OFFICER, lambda unit: {"everything"}) == frozenset()


@pytest.mark.parametrize(
    ("role", "page"),
    [("commissioner", "/leaderboard"), ("supervisor", "/leaderboard"), ("officer", "/queue"), ("desk", "/triage")],
)
def test_each_role_lands_on_a_page_it_may_open(role: str, page: str) -> None:
    assert landing(role) == page and may_open(role, page)


def test_an_officer_opens_neither_the_leaderboard_nor_triage() -> None:
    assert not may_open("officer", "/leaderboard") and not may_open("officer", "/triage")


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/cases/BLR-2026-000001", "/cases/BLR-2026-000001"),
        ("/leaderboard?by=station&since=2026-11-01", "/leaderboard?by=station&since=2026-11-01"),
        ("//evil.example/login", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("javascript:alert(1)", None),
        ("/ok\r\nSet-Cookie: x=1", None),
        ("", None),
        (None, None),
        ("relative/path", None),
    ],
)
def test_after_sign_in_only_a_path_on_this_site_is_followed(target: str | None, followed: str | None) -> None:
    assert safe_next(target) == followed


@pytest.mark.parametrize(
    ("overrides", "reasons"),
    [
        ({}, []),
        ({"station": None}, ["no station"]),
        ({"confidence": 0.31}, ["low confidence (0.31)"]),
        ({"notifications": {"failed": 1, "sent": 2}}, ["notification failed"]),
        ({"replies": [{"status": "not_allowed"}]}, ["reply failed or not allowed"]),
        ({"station": None, "status": "closed"}, []),  # done: nothing for the desk
    ],
)
def test_triage_says_why_a_case_needs_the_desk(overrides: dict[str, Any], reasons: list[str]) -> None:
    assert triage_reasons({**case("s1", HELD), **overrides}) == reasons


def test_a_case_at_the_desk_is_on_triage() -> None:
    assert triage_reasons(case(None, (None, "desk", "open"))) == ["no station", "at the desk"]


@pytest.mark.parametrize(
    ("header", "summary"),
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
            "Chrome 156 on Linux",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
            "Mobile/15E148 Safari/604.1",
            "Safari 604 on iPhone",
        ),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox 140 on Windows"),
        (
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/130.0 Safari/537.36 Edg/130.0.1",
            "Edge 130 on Windows",
        ),
        ("curl/8.5.0", "curl/8.5.0"),
        (None, None),
    ],
)
def test_a_session_remembers_the_browser_in_a_few_words(header: str | None, summary: str | None) -> None:
    assert user_agent_summary(header) == summary
