"""What the retention policy removes, and from when on. Pure: the policy and ``now`` in, cut-offs and
stripped values out; :mod:`models.purge` runs it against the database.

Cases and their numbers stay for ever: a case's row, its assignments, escalations, replies' and messages'
statuses and times, and every audit event remain, so the leaderboard of a past period reads the same after
a purge. What goes is what names or describes a person, once the case has been finished long enough:

- ``raw_payload_days``: the platform's raw JSON of a post (a copy of what the columns already hold) once
  its case is finished (or it made no case) and no reply to it is in flight;
- ``personal_data_days``: of a finished case (closed, rejected, merged, or a referral left alone), the
  posts' author (handle, name, id), text, link and location, the officers' note and the rejection reason,
  the texts of its replies and notifications, and its desk corrections (training examples: export them
  before). Never sooner than the reopen window, while the citizen's next post may still reopen the case;
- ``audit_detail_days``: the free text (reasons, notes) and IP addresses inside old audit events; the
  events themselves, with their kinds, times and actors, stay;
- ``session_days``: dashboard sign-ins (with their IP address and browser) ended this long ago.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

PURGED = "[purged]"  # what a removed text is replaced with: the row stays, and says why its text is gone
PURGE_EVENT = "case.purged"  # on the audit trail, one per case, in the transaction that purged it
FINISHED_STATUSES = ("closed", "rejected", "merged", "referral")  # a case whose posts may be purged
IN_FLIGHT = ("pending", "sending")  # a reply or message not yet done: its case waits
PERSONAL_DETAIL_KEYS = frozenset({"ip", "user_agent", "reason", "note", "text", "author", "handle", "name"})
SYSTEM_ENTITIES = frozenset({"alert", "stage", "account"})  # their details are the bot's own words


@dataclass(frozen=True)
class Retention:
    """How long each kind of data is kept, in days."""

    raw_payload_days: int = 30
    personal_data_days: int = 365
    audit_detail_days: int = 365
    session_days: int = 90
    batch_size: int = 500  # rows (cases, for personal data) per transaction


@dataclass(frozen=True)
class Cutoffs:
    """Data older than these (UTC) is past retention."""

    raw_payload_before: datetime
    personal_data_before: datetime
    audit_detail_before: datetime
    session_ended_before: datetime


def cutoffs(policy: Retention, now: datetime, *, reopen_window_days: int = 0) -> Cutoffs:
    """The cut-offs at ``now``. A finished case keeps its personal data at least through the reopen window."""
    days = timedelta(days=1)
    return Cutoffs(
        raw_payload_before=now - policy.raw_payload_days * days,
        personal_data_before=now - max(policy.personal_data_days, reopen_window_days) * days,
        audit_detail_before=now - policy.audit_detail_days * days,
        session_ended_before=now - policy.session_days * days,
    )


def stripped_detail(entity: str, detail: Mapping[str, Any]) -> dict[str, Any] | None:
    """An audit event's detail without its personal data (free text, addresses), or None when it has none.
    The keys stay, so a reader still sees that a reason was given."""
    if entity in SYSTEM_ENTITIES:
        return None
    found = {k for k, v in detail.items() if k in PERSONAL_DETAIL_KEYS and v not in (None, "", PURGED)}
    if not found:
        return None
    return {k: (PURGED if k in found else v) for k, v in detail.items()}


@dataclass
class PurgeCounts:
    """Rows changed (or, on a dry run, that would be) per table and what was done to them."""

    by_table: dict[str, int]

    def add(self, table: str, count: int) -> None:
        if count:
            self.by_table[table] = self.by_table.get(table, 0) + count

    @property
    def total(self) -> int:
        return sum(self.by_table.values())

    def format(self) -> str:
        if not self.by_table:
            return "nothing"
        return ", ".join(f"{table} {count}" for table, count in sorted(self.by_table.items()))
