"""Day tallies added up into the leaderboard's rows at ``now``. Pure.

Counts add; an acknowledgement deadline still running counts as missed once ``now`` is past it; a case
that qualifies counts as resolved once its close time is ``resolved_after_days`` behind ``now``; the four
time measures are the nearest rank over all the days' hours together. The rows are those
:func:`dashboard.leaderboard.measure_rows` gives (values, weeks, rank rule), without the cases behind each
number: the drill-down computes those.

The days come in as the page's weeks, each a :class:`Block` (its days merged, the groups as integers of a
:class:`KeyIndex`), so a year is 53 blocks; the caller keeps blocks and the ranked times of all but the
recent weeks (:class:`Ranked`) by their days' versions, so a page sorts only the recent weeks' hours.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from dashboard.leaderboard import MEASURES, By, Directory, Level, Measure, Row, Rules, Week, describe
from dashboard.leaderboard_tally import ARRAYS, COUNTS, DayTally, Floats, Ints

_TIMES = (("ack_officer", 0), ("ack_citizen", 1), ("act_officer", 2), ("act_citizen", 3))
_RUNNING, _CLOSED = ARRAYS.index("ack_running"), ARRAYS.index("closed")
_NAMES = (
    "assigned", "ack_in_time", *(f"{name}_{p}" for name, _ in _TIMES for p in ("p50", "p90")), "resolved", "reopened", "escalations",
    "replies", "overdue",
)
assert _NAMES == tuple(m.name for m in MEASURES), "sum_rows writes the measures in MEASURES' order"
_AT = {name: i for i, name in enumerate(_NAMES)}


class KeyIndex:
    """Group keys as small integers, shared by the blocks a dashboard process keeps: a day's keys are looked up
    once when its block is made, never again per page."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self.keys: list[str] = []  # only appended to: id → key
        self._lock = threading.Lock()  # the page's requests run in a thread pool

    def ids(self, keys: Sequence[str]) -> Ints:
        with self._lock:
            for key in keys:
                if key not in self._ids:
                    self._ids[key] = len(self.keys)
                    self.keys.append(key)
            return np.fromiter(map(self._ids.__getitem__, keys), np.int64, len(keys))


@dataclass(frozen=True)
class Block:
    """Consecutive days' tallies of one kind added together: per group present (``groups``, ids of a
    :class:`KeyIndex`) the summed counts, and each array's values of all the days with their group's id.
    Values are kept, not summarised: the medians and 90th percentiles are over the union."""

    groups: Ints
    counts: Ints  # shape (len(groups), len(COUNTS))
    values: tuple[Floats, ...]  # one per ARRAYS
    owners: tuple[Ints, ...]  # the group id of each value


def merge(days: Sequence[DayTally], index: KeyIndex) -> Block:
    """The days' tallies as one block (a week of the page)."""
    shown = [day for day in days if day.keys]
    ids = [index.ids(day.keys) for day in shown]
    if not shown:
        nothing = tuple(np.zeros(0, np.float64) for _ in ARRAYS)
        return Block(np.zeros(0, np.int64), np.zeros((0, len(COUNTS)), np.int64), nothing, tuple(np.zeros(0, np.int64) for _ in ARRAYS))
    groups, at = np.unique(np.concatenate(ids), return_inverse=True)
    table = np.concatenate([day.counts for day in shown])
    counts = np.stack([_add(at, table[:, j], len(groups)) for j in range(len(COUNTS))], axis=1)
    values = tuple(np.concatenate([day.values[a] for day in shown]) for a in range(len(ARRAYS)))
    owners = tuple(np.concatenate([i[day.owners[a]] for day, i in zip(shown, ids, strict=True)]) for a in range(len(ARRAYS)))
    return Block(groups, counts, values, owners)


def sum_rows(
    weeks: Sequence[Block],
    *,
    index: KeyIndex,
    overdue: Mapping[str, int],
    now: float,
    by: By,
    level: Level,
    rules: Rules,
    directory: Directory,
    prefix: Sequence[Ranked] | None = None,
    recent_weeks: int = 1,
) -> list[Row]:
    """``weeks``: the period's weeks in order, each one block (the last may be short); ``overdue``: cases
    overdue now per group; ``prefix``: the four times of all the weeks but the last ``recent_weeks``,
    ranked (:func:`rank_times`; kept by the caller: the recent weeks' cases are those still changing). One
    row per group with cases in the period or overdue now, unsorted."""
    late_ids = index.ids(list(overdue))
    names = index.keys
    n, w = len(names), max(len(weeks), 1)
    resolved_before = now - rules.resolved_after_days * 86400.0  # as measure_rows has it, to the last bit
    # every week's entries at once: entry e is group ids[e] in week week_of[e]
    ids = np.concatenate([b.groups for b in weeks]) if weeks else np.zeros(0, np.int64)
    week_of = np.repeat(np.arange(len(weeks), dtype=np.int64), [len(b.groups) for b in weeks])
    table = np.concatenate([b.counts for b in weeks]) if weeks else np.zeros((0, len(COUNTS)), np.int64)
    present = np.zeros(n, np.bool_)
    present[ids] = True
    present[late_ids] = True
    counts = np.zeros((n, len(COUNTS)), np.int64)
    by_week = np.zeros((n * w, 3), np.int64)  # per group and week: cases, acknowledgements met, due
    cell = ids * w + week_of
    for j in range(len(COUNTS)):
        counts[:, j] = _add(ids, table[:, j], n)
    for j in range(3):
        by_week[:, j] = _add(cell, table[:, j], n * w)

    def entries(a: int) -> tuple[Floats, Ints, Ints]:
        """Array ``a``'s values of every week, the group of each and its week."""
        if not weeks:
            return np.zeros(0, np.float64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        values = np.concatenate([b.values[a] for b in weeks])
        owners = np.concatenate([b.owners[a] for b in weeks])
        return values, owners, np.repeat(np.arange(len(weeks), dtype=np.int64), [len(b.values[a]) for b in weeks])

    running, at, week = entries(_RUNNING)
    late = running < now  # a deadline still running when tallied, passed by now: missed
    counts[:, 2] += np.bincount(at[late], minlength=n)
    by_week[:, 2] += np.bincount(at[late] * w + week[late], minlength=n * w)
    closed, at, _ = entries(_CLOSED)
    resolved = np.bincount(at[closed <= resolved_before], minlength=n)
    trend = by_week.reshape(n, w, 3)
    if prefix is None:  # every week ranked here
        ranks = [nearest_ranks(rank_order(weeks, a, n), None, n) for _, a in _TIMES]
    else:  # the weeks but the last ``recent`` ranked already: the recent ones' values go in among them
        recent = weeks[len(weeks) - recent_weeks :] if recent_weeks else []
        ranks = [nearest_ranks(ranked, rank_order(recent, a, n), n) for ranked, (_, a) in zip(prefix, _TIMES, strict=True)]
    rows = []
    counts_of, resolved_of = counts.tolist(), resolved.tolist()
    (a50, a90), (c50, c90), (t50, t90), (u50, u90) = ranks
    for i in np.flatnonzero(present).tolist():
        key, c = names[i], counts_of[i]
        shown = (  # MEASURES' order
            float(c[0]),
            100.0 * c[1] / c[2] if c[2] else None,
            a50[i], a90[i], c50[i], c90[i], t50[i], t90[i], u50[i], u90[i],
            float(resolved_of[i]),
            100.0 * c[4] / c[3] if c[3] else None,
            float(c[5]),
            float(c[6]),
            float(overdue.get(key, 0)),
        )
        label, detail = describe(key, by, level, directory)
        cases = c[0]
        unranked = None
        if cases < rules.min_cases:
            unranked = f"not ranked: {cases} case{'s' if cases != 1 else ''}, fewer than {rules.min_cases}"
        rows.append(Row(key, label, detail, RowMeasures(shown), TrendWeeks(trend[i, : len(weeks)]), None, unranked))
    return rows


class RowMeasures(Mapping[str, Measure]):
    """A row's numbers kept as one tuple (MEASURES' order), each made a :class:`Measure` only when read: a
    year by officer is fifteen thousand numbers, and ranking reads one per row."""

    __slots__ = ("numbers",)

    def __init__(self, numbers: tuple[float | None, ...]) -> None:
        self.numbers = numbers

    def __getitem__(self, name: str) -> Measure:
        return Measure(self.numbers[_AT[name]])

    def __iter__(self) -> Iterator[str]:
        return iter(_NAMES)

    def __len__(self) -> int:
        return len(_NAMES)

    def __repr__(self) -> str:
        return repr(dict(self))


class TrendWeeks(Sequence[Week]):
    """A row's weeks kept as the summed array and made into :class:`Week` tuples only when read: a year by
    officer is fifty thousand weeks, and only the rows on the page are drawn."""

    __slots__ = ("array",)

    def __init__(self, array: npt.NDArray[np.int64]) -> None:
        self.array = array  # shape (weeks, 3): cases, acknowledgements met, due

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, index: int) -> Week: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Week]: ...
    def __getitem__(self, index: int | slice) -> Week | Sequence[Week]:
        if isinstance(index, slice):
            return tuple(map(Week._make, self.array[index].tolist()))
        return Week._make(self.array[index].tolist())

    def __iter__(self) -> Iterator[Week]:
        return map(Week._make, self.array.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple of the same weeks, so not hashable

    def __repr__(self) -> str:
        return repr(tuple(self))


def total_weeks(rows: Collection[Row], count: int) -> tuple[Week, ...]:
    """The rows' weeks added up (the chart above the table): summed arrays where the rows have them."""
    sums = np.zeros((count, 3), np.int64)
    for row in rows:
        weeks = row.weeks
        if isinstance(weeks, TrendWeeks):
            part = weeks.array[:count]
            sums[: len(part)] += part
        else:
            for i, week in enumerate(weeks[:count]):
                sums[i] += week
    return tuple(map(Week._make, sums.tolist()))


def _add(at: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``values`` added up by ``at`` (counts: exact as float64 far beyond any case count)."""
    if not len(at):
        return np.zeros(size, np.int64)
    return np.bincount(at, weights=values, minlength=size).astype(np.int64)


@dataclass(frozen=True)
class Ranked:
    """One array's values of some weeks sorted by group, then by value: group ``g``'s are
    ``values[starts[g]:starts[g + 1]]`` (groups past the end have none)."""

    values: Floats
    starts: Ints


def rank_order(weeks: Sequence[Block], a: int, n: int) -> Ranked:
    """Array ``a``'s values of these weeks, ranked within each of the ``n`` groups."""
    values = np.concatenate([b.values[a] for b in weeks]) if weeks else np.zeros(0, np.float64)
    owners = np.concatenate([b.owners[a] for b in weeks]) if weeks else np.zeros(0, np.int64)
    return _ranked(values, owners, n)


def _ranked(values: Floats, owners: Ints, n: int) -> Ranked:
    by_group = np.argsort(owners.astype(np.int16 if n < 2**15 else np.int64), kind="stable")  # radix sort
    ranked = values[by_group]
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(owners, minlength=n), out=starts[1:])
    ends = starts.tolist()
    for i in np.flatnonzero(np.diff(starts) > 1).tolist():
        ranked[ends[i] : ends[i + 1]].sort()  # each group's in place: a few thousand sorts beat one argsort
    return Ranked(ranked, starts)


def rank_times(weeks: Sequence[Block], n: int) -> tuple[Ranked, ...]:
    """The four times of these weeks ranked (what ``sum_rows`` takes as ``prefix``)."""
    return tuple(rank_order(weeks, a, n) for _, a in _TIMES)


def nearest_ranks(ranked: Ranked, extra: Ranked | None, n: int) -> tuple[list[float | None], list[float | None]]:
    """Per group, the median and the 90th percentile (nearest rank, as ``nearest_rank``) of its values in
    ``ranked`` and ``extra`` together. Without ``extra`` they are read off. With it, group g's k-th smallest of
    all (P sorted, E of m values) is among P[max(0, k - m) : k + 1] and E: at least k + 1 - m of P are at most
    it, so the first k - m of P all come before it, and none of P past k does; it is the (k - lo)-th of those
    few, which are sorted here for every group at once."""
    size_p = np.zeros(n, np.int64)
    start_p = np.zeros(n, np.int64)
    known = min(n, len(ranked.starts) - 1)
    size_p[:known] = np.diff(ranked.starts)[:known]
    start_p[:known] = ranked.starts[:known]
    size_e = np.zeros(n, np.int64) if extra is None else np.diff(extra.starts)[:n]
    size = size_p + size_e
    has = np.flatnonzero(size).tolist()
    found: list[list[float | None]] = []
    for q in (0.5, 0.9):
        k = np.maximum(0, np.ceil(q * size).astype(np.int64) - 1)  # as math.ceil: the sizes are small integers
        values: list[float | None] = [None] * n
        if extra is None or not len(extra.values):
            picked = ranked.values[(start_p + k)[has]].tolist() if has else []
        else:
            lo = np.maximum(0, k - size_e)
            take = np.maximum(0, np.minimum(size_p, k + 1) - lo)
            total = int(take.sum())
            before = np.cumsum(take) - take
            at = np.repeat(start_p + lo - before, take) + np.arange(total, dtype=np.int64)
            groups = np.concatenate([np.repeat(np.arange(n, dtype=np.int64), take), np.repeat(np.arange(n, dtype=np.int64), size_e)])
            among = _ranked(np.concatenate([ranked.values[at], extra.values]), groups, n)  # by group, then by value
            picked = among.values[(among.starts[:-1] + k - lo)[has]].tolist() if has else []
        for i, v in zip(has, picked, strict=True):
            values[i] = v
        found.append(values)
    return found[0], found[1]
