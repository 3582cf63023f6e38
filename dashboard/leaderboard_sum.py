"""Day tallies added up into the leaderboard's rows at ``now``. Pure.

Counts add; an acknowledgement deadline still running counts as missed once ``now`` is past it; a case
that qualifies counts as resolved once its close time is ``resolved_after_days`` behind ``now``; the four
time measures are the nearest rank over all the days' hours together. The rows are those
:func:`dashboard.leaderboard.measure_rows` gives (values, weeks, rank rule), without the cases behind each
number: the drill-down computes those.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from itertools import chain
from typing import overload

import numpy as np
import numpy.typing as npt

from dashboard.leaderboard import MEASURES, By, Directory, Level, Measure, Row, Rules, Week, describe
from dashboard.leaderboard_tally import ARRAYS, COUNTS, DayTally

_TIMES = (("ack_officer", 0), ("ack_citizen", 1), ("act_officer", 2), ("act_citizen", 3))
_RUNNING, _CLOSED = ARRAYS.index("ack_running"), ARRAYS.index("closed")


def sum_rows(
    days: Sequence[tuple[int, DayTally]],
    *,
    weeks: int,
    overdue: Mapping[str, int],
    now: float,
    by: By,
    level: Level,
    rules: Rules,
    directory: Directory,
) -> list[Row]:
    """``days``: (week index, the day's tally) for every day of the period; ``overdue``: cases overdue now
    per group. One row per group with cases in the period or overdue now, unsorted."""
    every_key = list(chain.from_iterable(day.keys for _, day in days))
    index = {k: i for i, k in enumerate(dict.fromkeys([*every_key, *overdue]))}
    ids = np.fromiter(map(index.__getitem__, every_key), np.int64, len(every_key))
    n, w = len(index), max(weeks, 1)
    resolved_before = now - rules.resolved_after_days * 86400.0  # as measure_rows has it, to the last bit
    # every day's entries (a group's row of a day) at once: entry e is group ids[e] in week week_of[e]
    shown = [(week, day) for week, day in days if day.keys]
    week_of = np.repeat(np.array([week for week, _ in shown], np.int64), [len(day.keys) for _, day in shown])
    starts = np.cumsum([0] + [len(day.keys) for _, day in shown])
    table = np.concatenate([day.counts for _, day in shown]) if shown else np.zeros((0, len(COUNTS)), np.int64)
    counts = np.zeros((n, len(COUNTS)), np.int64)
    by_week = np.zeros((n * w, 3), np.int64)  # per group and week: cases, acknowledgements met, due
    cell = ids * w + week_of
    for j in range(len(COUNTS)):
        counts[:, j] = _add(ids, table[:, j], n)
    for j in range(3):
        by_week[:, j] = _add(cell, table[:, j], n * w)

    def entries(a: int) -> tuple[np.ndarray, np.ndarray]:
        """Array ``a``'s values of every day and the entry each belongs to."""
        if not shown:
            return np.zeros(0, np.float64), np.zeros(0, np.int64)
        values = np.concatenate([day.values[a] for _, day in shown])
        owners = np.concatenate([day.owners[a] + start for (_, day), start in zip(shown, starts.tolist(), strict=False)])
        return values, owners

    running, at = entries(_RUNNING)
    late = at[running < now]  # a deadline still running when tallied, passed by now: missed
    counts[:, 2] += np.bincount(ids[late], minlength=n)
    by_week[:, 2] += np.bincount(cell[late], minlength=n * w)
    closed, at = entries(_CLOSED)
    resolved = np.bincount(ids[at[closed <= resolved_before]], minlength=n)
    times: list[tuple[list[np.ndarray], list[np.ndarray]]] = []
    for _, a in _TIMES:
        values, at = entries(a)
        times.append(([values], [ids[at]]) if len(values) else ([], []))
    trend = by_week.reshape(n, w, 3)
    ranks = [_nearest_ranks(values, owners, n) for values, owners in times]
    rows = []
    trend_of = trend[:, :weeks]
    counts_of, resolved_of = counts.tolist(), resolved.tolist()
    for key, i in index.items():
        c = counts_of[i]
        measures = {
            "assigned": Measure(float(c[0])),
            "ack_in_time": Measure(100.0 * c[1] / c[2] if c[2] else None),
            "resolved": Measure(float(resolved_of[i])),
            "reopened": Measure(100.0 * c[4] / c[3] if c[3] else None),
            "escalations": Measure(float(c[5])),
            "replies": Measure(float(c[6])),
            "overdue": Measure(float(overdue.get(key, 0))),
        }
        for (name, _), (p50, p90) in zip(_TIMES, ranks, strict=True):
            measures[f"{name}_p50"], measures[f"{name}_p90"] = Measure(p50[i]), Measure(p90[i])
        label, detail = describe(key, by, level, directory)
        cases = c[0]
        unranked = None
        if cases < rules.min_cases:
            unranked = f"not ranked: {cases} case{'s' if cases != 1 else ''}, fewer than {rules.min_cases}"
        rows.append(Row(key, label, detail, {m.name: measures[m.name] for m in MEASURES}, TrendWeeks(trend_of[i]), None, unranked))
    return rows


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


def _nearest_ranks(values: list[np.ndarray], owners: list[np.ndarray], n: int) -> tuple[list[float | None], list[float | None]]:
    """Per group, the median and the 90th percentile (nearest rank, as ``nearest_rank``) of its values."""
    p50: list[float | None] = [None] * n
    p90: list[float | None] = [None] * n
    if not values:
        return p50, p90
    v, o = np.concatenate(values), np.concatenate(owners)
    order = np.argsort(o.astype(np.int16 if n < 2**15 else np.int64), kind="stable")  # by group (radix sort)
    v = v[order]
    ends = np.cumsum(np.bincount(o, minlength=n)).tolist()
    start = 0
    for i, end in enumerate(ends):
        size = end - start
        if size:
            k50, k90 = max(0, math.ceil(0.5 * size) - 1), max(0, math.ceil(0.9 * size) - 1)
            part = np.partition(v[start:end], (k50, k90))  # the k-th smallest without sorting them all
            p50[i], p90[i] = float(part[k50]), float(part[k90])
        start = end
    return p50, p90
