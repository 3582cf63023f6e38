"""The leaderboard in the browser: ``/leaderboard``, ``/leaderboard.csv`` (the same rows) and the drill-down
``/leaderboard/cases`` from any number to the cases behind it.

The query string says what is shown: ``by=station|officer|area`` (``level=acp|dcp`` for areas),
``since=YYYY-MM-DD&until=YYYY-MM-DD`` (local dates of the deployment, ``until`` not included; by default the
last 30 days up to today), ``sort=<measure>&order=asc|desc``, ``page=N|all`` (``PAGE_SIZE`` rows a page, the
first by default: a year by officer is a thousand rows). The same query string gives the same rows in the
same order on the page and in the CSV; ``run.py leaderboard`` prints every row (``page=all``). Ranks are over
all the rows of the period, whichever page shows them. A supervisor sees only the stations
under their unit (and the officers' work there); the commissioner and the desk see everything; nothing on
these pages changes anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from dashboard.access import stations_of
from dashboard.leaderboard import (
    BY,
    CSV_HEADER,
    DEFAULT_SORT,
    LEVELS,
    MEASURES,
    SPECS,
    By,
    Directory,
    Level,
    Measure,
    Row,
    Rules,
    cell,
    csv_cells,
    describe,
    measure_rows,
    natural_order,
    rank_rows,
    station_counts,
)
from dashboard.leaderboard_fast import DayCache, fast_rows, local_midnight
from dashboard.leaderboard_html import Sparkline, row_writer
from dashboard.leaderboard_sum import total_weeks
from dashboard.sessions import Viewer
from dashboard.svg import MapLayer, legend, project_map, shade, trend
from dashboard.web import Web
from models.db import session_scope
from models.leaderboard import load_facts

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
PAGE_SIZE = 100


class BadQuery(ValueError):
    """The query string asks for something that is not there; the message says what, for a person."""


@dataclass(frozen=True)
class Query:
    by: By = "station"
    level: Level = "acp"
    since: date = date(2026, 1, 1)
    until: date = date(2026, 1, 31)  # not included
    sort: str = DEFAULT_SORT
    order: str = "desc"
    page: int | None = 1  # None: every row

    def params(self, **changes: str) -> str:
        """This query as a query string, with ``changes``: the links of the page (the first page unsaid)."""
        values = {"by": self.by, "since": self.since.isoformat(), "until": self.until.isoformat()}
        if self.by == "area":
            values["level"] = self.level
        values |= {"sort": self.sort, "order": self.order, "page": "all" if self.page is None else str(self.page), **changes}
        if values["page"] == "1":
            del values["page"]
        return "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in values.items())  # urlencode's, but memoised

    @property
    def last_day(self) -> date:
        return self.until - timedelta(days=1)


@lru_cache(maxsize=8192)
def _quoted(text: str) -> str:
    return quote_plus(text)  # the page asks for the same few thousand pieces again and again


def parse_query(params: Mapping[str, str], *, today: date) -> Query:
    """The query from the request's parameters (missing ones by default); BadQuery says what is wrong."""
    by = params.get("by") or "station"
    if by not in BY:
        raise BadQuery(f"by must be one of {', '.join(BY)}, not {by!r}")
    level = params.get("level") or "acp"
    if level not in LEVELS:
        raise BadQuery(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    until = _date(params.get("until"), "until") or today + timedelta(days=1)
    since = _date(params.get("since"), "since") or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise BadQuery(f"since ({since}) must come before until ({until})")
    if (until - since).days > MAX_DAYS:
        raise BadQuery(f"a period of at most {MAX_DAYS} days, please (asked for {(until - since).days})")
    sort = params.get("sort") or DEFAULT_SORT
    if sort not in SPECS:
        raise BadQuery(f"sort must be one of {', '.join(SPECS)}, not {sort!r}")
    order = params.get("order") or natural_order(sort)
    if order not in ("asc", "desc"):
        raise BadQuery(f"order must be asc or desc, not {order!r}")
    page = params.get("page") or "1"
    if page != "all" and not (page.isdigit() and 0 < int(page) < 100_000):
        raise BadQuery(f"page must be a page number or all, not {page[:20]!r}")
    return Query(by, level, since, until, sort, order, None if page == "all" else int(page))


def _date(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name} must be a date like 2026-11-30, not {text[:20]!r}") from None


@dataclass(frozen=True)
class Scope:
    """What a viewer may see on the leaderboard: None means everything."""

    stations: Collection[str] | None = None
    units: Collection[str] | None = None  # the areas (ACP/DCP offices) a supervisor may see


def scope_of(viewer: Viewer, web: Web) -> Scope:
    if viewer.role != "supervisor":
        return Scope()
    units = set(stations_of(viewer, web.units_under))
    return Scope(units, units)


@dataclass(frozen=True)
class Board:
    query: Query
    rows: tuple[Row, ...]
    week_starts: tuple[date, ...]
    station_counts: Mapping[str, int]  # where the cases of the period come from


def build_board(
    engine: Engine,
    query: Query,
    *,
    scope: Scope,
    directory: Directory,
    rules: Rules,
    tz: tzinfo,
    now: datetime,
    keys: Collection[str] | None = None,
    cache: DayCache | None = None,
) -> Board:
    """The rows the query asks for, ranked and sorted; ``keys`` narrows them to some groups (drill-down).
    Everything seen (no ``stations`` scope, no ``keys``) comes from the day tallies (``leaderboard_fast``),
    the same numbers without the cases behind them (``Measure.cases`` empty); a supervisor's area and the
    drill-down (``keys``: the cases behind each number) from the cases. ``cache`` keeps the day tallies read."""
    since, until = local_midnight(query.since, tz), local_midnight(query.until, tz)
    week_days = tuple(query.since + timedelta(days=d) for d in range(0, (query.until - query.since).days, 7))
    if scope.stations is None and keys is None and (query.by != "area" or scope.units is None):
        with session_scope(engine) as session:
            fast, counts = fast_rows(
                session, by=query.by, level=query.level, since=query.since, until=query.until, now=now, tz=tz, rules=rules,
                directory=directory, cache=cache,
            )
        return Board(query, tuple(rank_rows(fast, sort=query.sort, order=query.order)), week_days, counts)
    narrow: dict[str, Collection[str]] = {}
    if keys is not None and query.by == "officer":
        narrow["held_by"] = keys
    elif keys is not None and query.by == "station":
        narrow["held_at"] = keys
    elif keys is not None:
        level = query.level
        narrow["held_at"] = {s for s, a in directory.areas.items() if (u := a.acp if level == "acp" else a.dcp) and u.id in keys}
    with session_scope(engine) as session:
        facts = load_facts(session, since=since, until=until, now=now, stations=scope.stations, held_at=narrow.get("held_at"), held_by=narrow.get("held_by"))
    wanted = keys if keys is not None else scope.units if query.by == "area" else None
    common: dict[str, Any] = {
        "since": since.timestamp(),
        "until": until.timestamp(),
        "now": now.timestamp(),
        "rules": rules,
        "directory": directory,
        "level": query.level,
        "week_starts": [local_midnight(d, tz).timestamp() for d in week_days],
    }
    rows = measure_rows(facts, by=query.by, keys=wanted, **common)
    counts = station_counts(facts, since=common["since"], until=common["until"]) if keys is None else {}
    ranked = rank_rows(rows, sort=query.sort, order=query.order)
    return Board(query, tuple(ranked), week_days, counts)


def shown_rows(board: Board) -> tuple[Row, ...]:
    """The rows of the query's page (all of them for ``page=all``): the page's table and its CSV."""
    page = board.query.page
    if page is None:
        return board.rows
    return board.rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]


def board_csv(board: Board, rows: Collection[Row] | None = None) -> str:
    """The CSV of ``rows`` (every row of the board by default)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in board.rows if rows is None else rows:
        writer.writerow(csv_cells(row))
    return out.getvalue()


@dataclass(frozen=True)
class Pages:
    """Which rows of how many the page shows, and the links to the others."""

    first: int  # 1-based; 0 when none
    last: int
    total: int
    previous: str | None  # query strings
    next: str | None
    all: str | None


def pages_of(board: Board, shown: Collection[Row]) -> Pages:
    q, total = board.query, len(board.rows)
    if q.page is None or total <= PAGE_SIZE:
        first = 1 if shown else 0
        return Pages(first, len(shown), total, None, None, None if q.page is None or total <= PAGE_SIZE else q.params(page="all"))
    first = (q.page - 1) * PAGE_SIZE + 1
    previous = q.params(page=str(q.page - 1)) if q.page > 1 else None
    following = q.params(page=str(q.page + 1)) if q.page * PAGE_SIZE < total else None
    return Pages(first if shown else 0, first + len(shown) - 1 if shown else 0, total, previous, following, q.params(page="all"))


def leaderboard_routes(web: Web, directory: Directory, rules: Rules, tz: tzinfo | None = None) -> APIRouter:
    """The leaderboard's pages; ``tz`` is the deployment's (its dates and weeks; None: UTC)."""
    tz = tz or UTC
    router = APIRouter()
    maps: tuple[MapLayer, ...] = project_map(directory.shapes)  # drawn once; only the shading changes
    days = DayCache()  # this process's day tallies, read once per version

    def board_for(request: Request, viewer: Viewer, *, keys: Collection[str] | None = None) -> Board:
        try:
            query = parse_query(request.query_params, today=web.clock().astimezone(tz).date())
        except BadQuery as exc:
            raise HTTPException(400, str(exc)) from None
        return build_board(
            web.engine, query, scope=scope_of(viewer, web), directory=directory, rules=rules, tz=tz, now=web.clock(), keys=keys,
            cache=days,
        )

    @router.get("/leaderboard")
    def leaderboard(request: Request) -> Response:
        viewer = web.require(request, "/leaderboard")
        board = board_for(request, viewer)
        scope = scope_of(viewer, web)
        most = max(board.station_counts.values(), default=0)
        shading = {
            area.station_id: shade(board.station_counts.get(area.station_id, 0), most)
            for layer in maps
            for area in layer.areas
        }
        visible = None if scope.stations is None else set(scope.stations)
        weeks = board.week_starts
        shown = shown_rows(board)
        overall = total_weeks(board.rows, len(weeks))
        context = {
            "board": board,
            "shown": shown,
            "pages": pages_of(board, shown),
            "q": board.query,
            "measures": MEASURES,
            "specs": SPECS,
            "cell": cell,
            "natural_order": natural_order,
            "row_html": row_writer(board.query.params(), Sparkline(weeks)),
            "chart": trend([(d, w.cases, w.ack_in_time) for d, w in zip(weeks, overall, strict=False)], width=720, height=160, pad=8),
            "chart_weeks": list(zip(weeks, overall, strict=False)),
            "maps": maps,
            "shading": shading,
            "legend": legend(most),
            "visible": visible,
            "counts": board.station_counts,
            "rules": rules,
            "by_labels": {"station": "Stations", "officer": "Officers", "area": "ACP/DCP areas"},
            "page_size": PAGE_SIZE,
        }
        return web.render(request, "leaderboard.html", context)

    @router.get("/leaderboard.csv")
    def leaderboard_csv(request: Request) -> Response:
        viewer = web.require(request, "/leaderboard")
        board = board_for(request, viewer)
        q = board.query
        name = f"leaderboard-{q.by}{'-' + q.level if q.by == 'area' else ''}-{q.since}-{q.last_day}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(board_csv(board, shown_rows(board)), media_type="text/csv; charset=utf-8", headers=headers)

    @router.get("/leaderboard/cases")
    def drill_down(request: Request) -> Response:
        viewer = web.require(request, "/leaderboard")
        measure = request.query_params.get("measure") or "assigned"
        key = request.query_params.get("key")
        if measure not in SPECS or key is None:
            raise HTTPException(400, "Say which number: measure=<one of the columns>&key=<a row's id>.")
        board = board_for(request, viewer, keys={key})
        row = next((r for r in board.rows if r.key == key), None)
        q = board.query
        if row is None:
            label, detail = describe(key, q.by, q.level, directory)
            row = Row(key, label, detail, {m.name: Measure(None) for m in MEASURES})
        context = {
            "q": q,
            "row": row,
            "spec": SPECS[measure],
            "measure": row.measures[measure],
            "value": cell(row, measure),
            "back": q.params(),
            "station_names": directory.stations,
        }
        return web.render(request, "leaderboard_cases.html", context)

    return router


