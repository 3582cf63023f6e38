"""What the desk's triage page asks of the case actions.

The actions live in the follow-up tracker (``monitor.followup.actions.CaseActions``), which the dashboard may
not import: the assembly hands the same instance in as ``create_app(..., triage=...)``. Each call raises
:class:`~models.lifecycle.IllegalTransition` (its message is for a person) or a ``LookupError`` when no case
has the docket; either way nothing was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class TriageActions(Protocol):
    def correct(
        self, docket: str, *, officer_id: str, category: str | None, place: str | None, now: datetime
    ) -> object:
        """Put the category or the place right; the case goes back to routing and moves to its new station."""
        ...

    def merge(self, docket: str, *, officer_id: str, into: str, now: datetime) -> object:
        """The case joins ``into`` (a duplicate)."""
        ...

    def reject(self, docket: str, *, officer_id: str, reason: str, now: datetime) -> object:
        """The case is rejected with ``reason`` (spam); nothing is posted to its author."""
        ...
