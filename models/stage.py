"""The contract of a step after polling (classify, route, notify, ...) and the clock each one is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.engine import Engine

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Stage(Protocol):
    """Works on what is stored and returns counts for the cycle's summary line; ``now`` is aware UTC."""

    name: str

    def run(self, engine: Engine, now: datetime) -> dict[str, int]: ...
