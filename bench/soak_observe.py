"""When each post's classification and its case's routing became visible in the database, as seen from outside.

The stages stamp ``classified_at`` and ``assigned_at`` with the ``now`` their run started with, and a run
goes on claiming batches until none is left, so those columns can lie minutes before the commit that made
the work visible (and the next stage able to act). This observer polls the database every ``every_s`` and
notes when each row first appeared done. Rows become done roughly in id order, so each poll reads only the
ids from the lowest one not yet seen done.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

DONE_QUERIES = {
    "classified": ("mention", "classified_at IS NOT NULL"),
    "routed": ("complaint", "status <> 'new'"),
}


class Observer:
    def __init__(self, engine: Engine, every_s: float = 1.0) -> None:
        self._engine = engine
        self._every_s = every_s
        self.seen: dict[str, dict[int, datetime]] = {stage: {} for stage in DONE_QUERIES}
        self._low = dict.fromkeys(DONE_QUERIES, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-observe", daemon=True)

    def start(self) -> Observer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.poll()  # what is done by now counts as seen now

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.poll()

    def poll(self) -> None:
        with self._engine.connect() as conn:
            for stage, (table, done) in DONE_QUERIES.items():
                rows = conn.execute(sa.text(f"SELECT id FROM {table} WHERE {done} AND id >= :low"),
                                    {"low": self._low[stage]}).scalars().all()
                now = datetime.now(UTC)
                seen = self.seen[stage]
                for row_id in rows:
                    seen.setdefault(int(row_id), now)
                waiting = conn.execute(
                    sa.text(f"SELECT min(id) FROM {table} WHERE NOT ({done}) AND id >= :low"),
                    {"low": self._low[stage]}).scalar()
                top = conn.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar()
                self._low[stage] = int(waiting) if waiting is not None else int(top or 0) + 1


class Freezes:
    """When the whole machine stood still: this VM is sometimes paused, and on resuming its wall clock jumps
    ahead while the monotonic clock does not. Sampled from a thread (the wall clock's lead over the monotonic
    clock growing by more than ``jump_s`` between two samples is a pause of that length); :meth:`machine_time`
    takes the pauses out of a wall-clock time, so a latency measured between two wall-clock times counts
    only the time the machine ran."""

    def __init__(self, every_s: float = 0.25, jump_s: float = 0.5) -> None:
        self._every_s, self._jump_s = every_s, jump_s
        self.pauses: list[tuple[datetime, float]] = []  # (wall clock at the resume, seconds paused)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-freezes", daemon=True)

    def start(self) -> Freezes:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def total_s(self) -> float:
        return sum(seconds for _, seconds in self.pauses)

    def _run(self) -> None:
        lead = time.time() - time.monotonic()
        while not self._stop.wait(self._every_s):
            now_lead = time.time() - time.monotonic()
            if now_lead - lead > self._jump_s:
                self.pauses.append((datetime.now(UTC), now_lead - lead))
            lead = now_lead

    def machine_time(self, at: datetime) -> datetime:
        """``at`` less every pause that ended at or before it."""
        return at - timedelta(seconds=sum(s for resumed, s in self.pauses if resumed <= at))
