"""What the follow-up tracker needs to know of the force's people, handed in by the assembly.

The organisation (``routing.people.Organisation``) satisfies it; the tracker never imports routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from models.secret import Secret


class Person(Protocol):
    """An officer: ``channels`` are Apprise URLs (one outbox message per channel)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def rank(self) -> str: ...
    @property
    def unit_id(self) -> str: ...
    @property
    def channels(self) -> Sequence[Secret]: ...
    @property
    def is_active(self) -> bool: ...


class People(Protocol):
    @property
    def officers(self) -> Mapping[str, Person]: ...
    @property
    def desk_unit(self) -> str: ...
    @property
    def tz(self) -> ZoneInfo: ...

    def unit_name(self, unit_id: str) -> str: ...

    def chain(self, unit_id: str) -> list[str]:
        """The unit and every unit above it, nearest first (station → ACP → DCP → commissioner)."""
        ...

    def head(self, unit_id: str) -> Person | None:
        """The active officer in charge of the unit, None when it has nobody active."""
        ...

    def on_duty(self, unit_id: str, now: datetime) -> list[str]:
        """Ids of the active officers rostered at the unit at ``now``."""
        ...

    def is_rostered(self, officer_id: str) -> bool:
        """True when the officer has shifts at all (False: a head or an office, reachable at any hour)."""
        ...

    def desk_officers(self) -> Sequence[Person]: ...
