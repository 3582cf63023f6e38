"""``run.py leaderboard``: the leaderboard's rows for scripts, the same rows the page shows.

:func:`print_leaderboard` takes what the dashboard takes (the engine, the directory, the rules, the
deployment's timezone) and the page's query (``by``, ``level``, ``since``, ``until``, ``sort``, ``order``):
every row, as ``page=all`` shows them; with ``as_csv`` exactly what ``/leaderboard.csv?...&page=all`` serves
for the same query, else an aligned table. It sees everything, as the commissioner does. A bad query is one line on stderr and exit code 2.
:func:`rebuild_tallies` (``--rebuild``) tallies every day again, saying how far it got.
"""

from __future__ import annotations

import sys
from datetime import datetime, tzinfo
from typing import TextIO

from sqlalchemy.engine import Engine

from dashboard.leaderboard import MEASURES, Directory, Row, Rules, cell
from dashboard.leaderboard_pages import BadQuery, Board, Scope, board_csv, build_board, parse_query
from dashboard.leaderboard_refresh import TallyRefresher, rebuild


def print_leaderboard(
    engine: Engine,
    *,
    directory: Directory,
    rules: Rules,
    tz: tzinfo,
    now: datetime,
    by: str | None = None,
    level: str | None = None,
    since: str | None = None,
    until: str | None = None,
    sort: str | None = None,
    order: str | None = None,
    as_csv: bool = False,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Write the rows; the exit code (0, or 2 when the query is not understood)."""
    asked = {"by": by, "level": level, "since": since, "until": until, "sort": sort, "order": order}
    try:
        query = parse_query({k: v for k, v in asked.items() if v}, today=now.astimezone(tz).date())
    except BadQuery as exc:
        err.write(f"leaderboard: {exc}\n")
        return 2
    board = build_board(engine, query, scope=Scope(), directory=directory, rules=rules, tz=tz, now=now)
    out.write(board_csv(board) if as_csv else table(board))
    return 0


def rebuild_tallies(engine: Engine, *, directory: Directory, tz: tzinfo, now: datetime, err: TextIO = sys.stderr) -> int:
    """Every day's tally from scratch, one progress line a month of days; exit code 0."""

    def progress(line: str) -> None:
        err.write(line + "\n")
        err.flush()

    days = rebuild(engine, TallyRefresher(directory, tz), now=now, say=progress)
    progress(f"leaderboard: done, {days} days tallied")
    return 0


def table(board: Board) -> str:
    """The rows as aligned text: rank, name, then the measures under short headings."""
    q = board.query
    headings = ["Rank", "Name", *(_short(m.name) for m in MEASURES), "Note"]
    lines = [[_rank(r), r.label, *(cell(r, m.name) or "-" for m in MEASURES), r.unranked_because or ""] for r in board.rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headings)]
    text = [f"{q.by} leaderboard, cases first held {q.since} to {q.last_day}, sorted by {q.sort} {q.order}"]
    for line in [headings, *lines]:
        cells = [v.ljust(w) if i in (1, len(headings) - 1) else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths, strict=True))]
        text.append("  ".join(cells).rstrip())
    if not lines:
        text.append("(no case was held in this period)")
    return "\n".join(text) + "\n"


def _rank(row: Row) -> str:
    return "-" if row.rank is None else str(row.rank)


def _short(name: str) -> str:
    """``ack_officer_p50`` → ``ack.off.p50``: headings narrow enough for a terminal."""
    return name.replace("_officer_", ".off.").replace("_citizen_", ".cit.").replace("ack_in_time", "ack.in.time%")
