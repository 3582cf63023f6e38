"""The text of the messages routing writes to officers about a case. Pure: a case summary in, a subject
and a body out (the routing stage enqueues them in the same transaction as the assignment)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

MAX_POST_CHARS = 1000
ROLE_LINES = {
    "assignee": "You are assigned this case.",
    "supervisor_copy": "Emergency: copied to you as the supervisor.",
    "desk": "EMERGENCY at the desk: no station on duty could take it. Please act on it now.",
    "dcp_copy": "VIP post: copied to you as DCP.",
    "reassign": "Reassigned to you: the previous officer is no longer active.",
}


@dataclass(frozen=True)
class CameraLine:
    name: str
    distance_m: float
    owner: str
    contact: str


@dataclass(frozen=True)
class CaseSummary:
    docket: str
    category: str
    is_emergency: bool
    is_vip: bool
    place: str | None
    station_name: str | None
    post_text: str
    post_link: str | None
    acknowledge_by: datetime | None
    act_by: datetime | None
    cameras: Sequence[CameraLine]
    case_url: str
    reporters: int = 1  # people who reported this one incident (posts of one place, category and time)


def assignment_message(case: CaseSummary, *, role: str, officer_name: str, tz: ZoneInfo) -> tuple[str, str]:
    """Subject and body of the message telling an officer about a case."""
    flags = "".join(f"{f} " for f, on in (("EMERGENCY", case.is_emergency), ("VIP", case.is_vip)) if on)
    where = f" at {case.place}" if case.place else ""
    subject = f"[{case.docket}] {flags}{_label(case.category)}{where}"
    if case.station_name:
        subject += f" — {case.station_name}"
    lines = [
        f"{officer_name}: {ROLE_LINES.get(role, 'For your information.')}",
        f"Docket: {case.docket}",
        f"Category: {_label(case.category)}" + (f" ({flags.strip()})" if flags else ""),
        f"Place: {case.place or 'not known'}",
        f"Station: {case.station_name or 'not known'}",
    ]
    if case.reporters > 1:
        lines.append(f"Reported by: {case.reporters} people (one incident; each will hear of the action taken)")
    if case.acknowledge_by is not None:
        lines.append(f"Acknowledge by: {_local(case.acknowledge_by, tz)}")
    if case.act_by is not None:
        lines.append(f"Action taken by: {_local(case.act_by, tz)}")
    text = case.post_text if len(case.post_text) <= MAX_POST_CHARS else case.post_text[:MAX_POST_CHARS] + "…"
    lines += ["", "Citizen's post:", text]
    if case.post_link:
        lines.append(f"Link: {case.post_link}")
    if case.cameras:
        lines += ["", "Registered cameras nearby (footage may exist):"]
        lines += [f"- {c.name}, {c.distance_m:.0f} m ({c.owner}, {c.contact})" for c in case.cameras]
    lines += ["", f"Case: {case.case_url}"]
    return subject[:300], "\n".join(lines)


def _label(category: str) -> str:
    return category.replace("_", " ").capitalize()


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")
