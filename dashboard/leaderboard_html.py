"""The leaderboard table's rows as HTML, written here rather than by template macros: a year by officer is a
thousand rows of fifteen linked numbers and a weekly sparkline, and Jinja's macro calls cost more than the
numbers themselves. The markup is the one the template's macros made; every text is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from urllib.parse import quote_plus

from markupsafe import Markup, escape

from dashboard.leaderboard import MEASURES, Row, Week, cell

_LABEL = "cases per week and % acknowledged in time"


class Sparkline:
    """A row's weeks as a small SVG: the bars of ``trend(...)`` (cases per week, scaled to the row's busiest)
    as one path, its line of % acknowledged in time with a dot a week, and one title for the whole row (a
    week's own numbers are in the chart above the table). A year is 53 bars a row: one path instead of 53
    titled rectangles makes a page of a hundred rows a fifth of the size; what depends only on the week is
    worked out once for all rows."""

    def __init__(self, starts: Sequence[date], *, width: float = 120.0, height: float = 28.0, pad: float = 2.0) -> None:
        self.width, self.height, self.pad, self.inner = width, height, pad, height - 2 * pad
        self.slot = (width - 2 * pad) / max(len(starts), 1)
        xs = [pad + i * self.slot for i in range(len(starts))]
        self.bar_width = round(self.slot * 0.8, 1)
        self.lefts = [round(x + self.slot * 0.1, 1) for x in xs]
        self.centres = [round(x + self.slot / 2, 1) for x in xs]
        self.dot_lefts = [round(c - 1.6, 1) for c in self.centres]
        self.first = starts[0] if starts else None
        self._seen_bars: dict[tuple[int, int], str] = {}  # (cases, the row's most): all but the x
        self._seen_dots: dict[tuple[int, int], tuple[str, str]] = {}  # (met, due): the y of the point and the dot
        self.head = f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_LABEL}">'

    def __call__(self, weeks: Sequence[Week]) -> str:
        weeks = tuple(weeks)[: len(self.lefts)]
        most = max((w.cases for w in weeks), default=0)
        bars, points, dots = [], [], []
        cases = met = due = 0
        for i, (n, m, d) in enumerate(weeks):
            cases, met, due = cases + n, met + m, due + d
            if n and most:
                bar = self._seen_bars.get((n, most))
                if bar is None:
                    bar = self._seen_bars[(n, most)] = self._bar(n, most)
                bars.append(f"M{self.lefts[i]}{bar}")
            if d:
                dot = self._seen_dots.get((m, d))
                if dot is None:
                    dot = self._seen_dots[(m, d)] = self._dot(Week(n, m, d))
                points.append(f"{self.centres[i]},{dot[0]}")
                dots.append(f"M{self.dot_lefts[i]} {dot[1]}h3.2v3.2h-3.2z")
        title = f"{len(weeks)} week{'s' if len(weeks) != 1 else ''}"
        if self.first is not None:
            title += f" from {self.first:%d %b}"
        title += f": {cases} case{'s' if cases != 1 else ''}"
        if due:
            title += f", {100.0 * met / due:.0f}% acknowledged in time"
        parts = [self.head, f"<title>{title}</title>"]
        if bars:
            parts.append(f'<path d="{"".join(bars)}" fill="#9ecae1"/>')
        if points:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#c62828" stroke-width="1.2"/>')
            parts.append(f'<path d="{"".join(dots)}" fill="#c62828"/>')
        parts.append("</svg>\n")
        return "".join(parts)

    def _bar(self, cases: int, most: int) -> str:
        """A bar as ``trend`` places it, but for its x: y, width and height rounded alike (the same for any week)."""
        h = self.inner * cases / most
        y, height = round(self.pad + self.inner - h, 1), round(h, 1)
        return f" {y}h{self.bar_width}v{height}h-{self.bar_width}z"

    def _dot(self, w: Week) -> tuple[str, str]:
        """A week's height on the line, and its dot's top (a square 3.2 wide, as the circle was); the x is the week's."""
        share = w.ack_in_time or 0.0
        cy = round(self.pad + self.inner * (1 - share / 100), 1)
        return f"{cy}", f"{round(cy - 1.6, 1)}"


def row_writer(query_string: str, sparkline: Callable[[Sequence[Week]], str]) -> Callable[[Row], Markup]:
    """``query_string``: the page's own (``Query.params()``); each number links to its cases with it."""
    cases_link = escape(f"/leaderboard/cases?{query_string}&measure=")

    def number(row: Row, key: str, name: str) -> str:
        text = cell(row, name)
        if not text:
            return f'<span data-measure="{name}">—</span>'
        return f'<span data-measure="{name}"><a href="{cases_link}{name}&amp;key={key}">{text}</a></span>'

    def write(row: Row) -> Markup:
        key = escape(quote_plus(row.key))
        head = [
            f'    <tr data-key="{escape(row.key)}">\n',
            f'      <td class="num rank">{row.rank if row.rank is not None else "—"}</td>\n',
            f'      <th scope="row"><span class="name">{escape(row.label)}</span>',
        ]
        if row.detail:
            head.append(f"<br><small>{escape(row.detail)}</small>")
        head.append("\n")
        if row.unranked_because:
            head.append(f'        <br><small class="unranked"><em>{escape(row.unranked_because)}</em></small>\n')
        head.append(f"        <br>{sparkline(row.weeks)}</th>\n")
        for spec in MEASURES:
            if not spec.group:
                head.append(f'        <td class="num">{number(row, key, spec.name)}</td>\n')
            elif spec.name.endswith("_p50"):
                p90 = spec.name[:-4] + "_p90"
                head.append(f'        <td class="num">{number(row, key, spec.name)} / {number(row, key, p90)}</td>\n')
        head.append("    </tr>\n")
        return Markup("".join(head))

    return write
