"""Day tallies of the leaderboard: what each day's cases add to each group, kept so that a page over a year
adds up a year of days instead of recomputing a year of cases. Pure.

A case adds to a group on the local day the group's first holding of it started (as in
:func:`dashboard.leaderboard.measure_rows`). What it adds depends on its stored facts and on ``now`` in two
ways only, both kept as times rather than settled: an acknowledgement deadline still running while its
holding lasts counts as missed once ``now`` passes it (``ack_running``), and a case that qualifies as
resolved counts once ``now - resolved_after_days`` reaches its close time (``closed``). Everything else is
fixed by the facts, so a tally stays exact until a fact of one of its cases changes (``tally_touch``).
Counts add; the four time measures keep their raw hours (float64) so medians and 90th percentiles over
many days are the nearest rank over the union, exactly as over the cases themselves. Overdue now is not
tallied: it is about now.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from dashboard.leaderboard import Directory, holding_keys
from models.leaderboard import CaseFact, Facts, HoldingFact
from models.lifecycle import Status

Kind = Literal["station", "officer", "acp", "dcp"]
KINDS: tuple[Kind, ...] = ("station", "officer", "acp", "dcp")
COUNTS = ("assigned", "ack_met", "ack_due", "acted", "reopened", "escalations", "replies")
ARRAYS = ("ack_officer", "ack_citizen", "act_officer", "act_citizen", "ack_running", "closed")
_HOUR = 3600.0
_ASSIGNED, _MET, _DUE, _ACTED, _REOPENED, _STEPS, _REPLIES = range(len(COUNTS))
_ACK_OFF, _ACK_CIT, _ACT_OFF, _ACT_CIT, _RUNNING, _CLOSED = range(len(ARRAYS))

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DayTally:
    """One day's contributions for one kind of group: per group (``keys``) the counts, and the values of
    the arrays with the index of the group each belongs to."""

    keys: tuple[str, ...]
    counts: Ints  # shape (len(keys), len(COUNTS))
    values: tuple[Floats, ...]  # one per ARRAYS
    owners: tuple[Ints, ...]  # the index into keys of each value

    def assigned(self) -> dict[str, int]:
        return {k: int(n) for k, n in zip(self.keys, self.counts[:, _ASSIGNED], strict=True)}


def empty_tally() -> DayTally:
    nothing = tuple(np.zeros(0, np.float64) for _ in ARRAYS)
    return DayTally((), np.zeros((0, len(COUNTS)), np.int64), nothing, tuple(np.zeros(0, np.int64) for _ in ARRAYS))


def key_function(kind: Kind, directory: Directory) -> Callable[[HoldingFact, CaseFact], str | None]:
    if kind == "station" or kind == "officer":
        return holding_keys(kind, "acp", directory)
    return holding_keys("area", kind, directory)


@dataclass
class _Acc:
    counts: list[int] = field(default_factory=lambda: [0] * len(COUNTS))
    arrays: tuple[list[float], ...] = field(default_factory=lambda: tuple([] for _ in ARRAYS))


def contributions(
    facts: Facts, *, kinds: Sequence[Kind], day_starts: Sequence[float], directory: Directory
) -> dict[tuple[int, Kind], DayTally]:
    """What the cases add, per (day, kind): day ``i`` is [day_starts[i], day_starts[i+1]). A group's case
    counts on the day its first holding started; cases first held outside the days add nothing."""
    accs: dict[tuple[int, Kind], dict[str, _Acc]] = {}
    per_case: dict[int, list[HoldingFact]] = {}
    for h in facts.holdings:
        per_case.setdefault(h.complaint_id, []).append(h)
    replies: dict[int, list[float]] = {}
    for r in facts.replies:
        replies.setdefault(r.complaint_id, []).append(r.created_at)
    reopens: dict[int, list[float]] = {}
    for o in facts.reopens:
        reopens.setdefault(o.complaint_id, []).append(o.at)
    key_of = {kind: key_function(kind, directory) for kind in kinds}
    first_day, end = day_starts[0], day_starts[-1]
    for cid, held in per_case.items():
        case = facts.cases[cid]
        held.sort(key=lambda h: (h.assigned_at, h.assignment_id))
        first_ack = first_act = last_act = None
        for h in held:
            if h.acknowledged_at is not None and (first_ack is None or h.acknowledged_at < (first_ack.acknowledged_at or 0.0)):
                first_ack = h
            if h.acted_at is not None:
                if first_act is None or h.acted_at < (first_act.acted_at or 0.0):
                    first_act = h
                if last_act is None or h.acted_at >= (last_act.acted_at or 0.0):
                    last_act = h
        reopened_at = sorted(reopens.get(cid, ()))
        resolves = (  # all of "resolved" but the window, which is now's
            last_act is not None
            and case.status == Status.CLOSED
            and case.has_note
            and case.closed_at is not None
            and (last_act.acted_at or 0.0) <= case.closed_at
            and (not reopened_at or (last_act.acted_at or 0.0) > reopened_at[-1])
        )
        for kind in kinds:
            groups: dict[str, list[HoldingFact]] = {}
            for h in held:
                key = key_of[kind](h, case)
                if key is not None:
                    groups.setdefault(key, []).append(h)
            for key, mine in groups.items():
                start = mine[0].assigned_at
                if not first_day <= start < end:
                    continue
                day = bisect_right(day_starts, start) - 1
                acc = accs.setdefault((day, kind), {}).setdefault(key, _Acc())
                counts, arrays = acc.counts, acc.arrays
                counts[_ASSIGNED] += 1
                my_first_act = None
                for h in mine:
                    due = h.acknowledge_by
                    if due is not None and due >= h.assigned_at:
                        if h.acknowledged_at is not None and h.acknowledged_at <= due:
                            counts[_MET] += 1
                            counts[_DUE] += 1
                        elif h.ended_at is not None:
                            counts[_DUE] += due < h.ended_at
                        else:
                            arrays[_RUNNING].append(due)
                    if h.acknowledged_at is not None:
                        arrays[_ACK_OFF].append((h.acknowledged_at - h.assigned_at) / _HOUR)
                    if h.acted_at is not None:
                        arrays[_ACT_OFF].append((h.acted_at - h.assigned_at) / _HOUR)
                        if my_first_act is None or h.acted_at < my_first_act:
                            my_first_act = h.acted_at
                    counts[_STEPS] += h.steps
                    if h is first_ack:
                        arrays[_ACK_CIT].append(((h.acknowledged_at or 0.0) - case.posted_at) / _HOUR)
                    if h is first_act:
                        arrays[_ACT_CIT].append(((h.acted_at or 0.0) - case.posted_at) / _HOUR)
                    if h is last_act and resolves:
                        arrays[_CLOSED].append(case.closed_at or 0.0)
                if my_first_act is not None:
                    counts[_ACTED] += 1
                    counts[_REOPENED] += any(at > my_first_act for at in reopened_at)
                    for planned_at in replies.get(cid, ()):
                        reporter = _reporter(held, planned_at)
                        if reporter is not None and any(h is reporter for h in mine):
                            counts[_REPLIES] += 1
    return {where: _freeze(groups) for where, groups in accs.items()}


def _reporter(held: Sequence[HoldingFact], at: float) -> HoldingFact | None:
    found = None
    for h in held:
        if h.acted_at is not None and h.acted_at <= at and (found is None or h.acted_at >= (found.acted_at or 0.0)):
            found = h
    return found


def _freeze(groups: Mapping[str, _Acc]) -> DayTally:
    keys = tuple(sorted(groups))
    counts = np.array([groups[k].counts for k in keys], np.int64).reshape(len(keys), len(COUNTS))
    values, owners = [], []
    for a in range(len(ARRAYS)):
        values.append(np.array([v for k in keys for v in groups[k].arrays[a]], np.float64))
        owners.append(np.array([i for i, k in enumerate(keys) for _ in groups[k].arrays[a]], np.int64))
    return DayTally(keys, counts, tuple(values), tuple(owners))


def pack(tally: DayTally) -> tuple[str, str, bytes]:
    """The stored form: the keys (JSON), their cases (JSON, for the map) and the numbers (bytes)."""
    sizes = np.array([len(tally.keys), *(len(v) for v in tally.values)], np.int64)
    parts = [sizes.tobytes(), tally.counts.astype(np.int64).tobytes()]
    for values, owners in zip(tally.values, tally.owners, strict=True):
        parts += [values.astype(np.float64).tobytes(), owners.astype(np.int32).tobytes()]
    return json.dumps(tally.keys), json.dumps(tally.counts[:, _ASSIGNED].tolist()), b"".join(parts)


def unpack(keys_json: str, data: bytes) -> DayTally:
    keys = tuple(json.loads(keys_json))
    sizes = np.frombuffer(data, np.int64, len(ARRAYS) + 1)
    offset = sizes.nbytes
    n = int(sizes[0])
    counts = np.frombuffer(data, np.int64, n * len(COUNTS), offset).reshape(n, len(COUNTS))
    offset += counts.nbytes
    values, owners = [], []
    for size in sizes[1:]:
        v = np.frombuffer(data, np.float64, int(size), offset)
        offset += v.nbytes
        o = np.frombuffer(data, np.int32, int(size), offset)
        offset += o.nbytes
        values.append(v)
        owners.append(o.astype(np.int64))
    return DayTally(keys, counts, tuple(values), tuple(owners))


def station_assigned(tallies: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The map's cases per station from the days' station tallies (misconduct cases are no station's)."""
    found: dict[str, int] = {}
    for day in tallies:
        for key, n in day.items():
            if key and n:  # "" is "no station": the map has no such place
                found[key] = found.get(key, 0) + n
    return found
