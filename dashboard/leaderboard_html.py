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
    """``spark(trend(...))`` of the rows' weeks, written straight from them: a year is 53 bars a row, and
    what depends only on the week (where the bar stands, its date) is worked out once for all rows."""

    def __init__(self, starts: Sequence[date], *, width: float = 120.0, height: float = 28.0, pad: float = 2.0) -> None:
        self.width, self.height, self.pad, self.inner = width, height, pad, height - 2 * pad
        self.slot = (width - 2 * pad) / max(len(starts), 1)
        xs = [pad + i * self.slot for i in range(len(starts))]
        bar_width = round(self.slot * 0.8, 1)
        self.bars = [(f'<rect x="{round(x + self.slot * 0.1, 1)}" y="', f'" width="{bar_width}" height="') for x in xs]
        self.centres = [round(x + self.slot / 2, 1) for x in xs]
        self.labels = [f"week of {start:%d %b}: " for start in starts]
        self._seen_bars: dict[tuple[int, int, int, int, int], tuple[str, str, str]] = {}
        self._seen_heights: dict[tuple[int, int], tuple[float, float]] = {}
        self._seen_shares: dict[tuple[int, int], tuple[str, str]] = {}
        self.head = f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{_LABEL}">\n  '

    def __call__(self, weeks: Sequence[Week]) -> str:
        weeks = tuple(weeks)
        n = min(len(weeks), len(self.bars))
        most = max((w.cases for w in weeks[:n]), default=0)
        parts, points, dots = [self.head], [], []
        seen = self._seen_bars
        for i in range(n):
            w = weeks[i]
            key = (i, w.cases, most, w.ack_met, w.ack_due)
            drawn = seen.get(key)
            if drawn is None:
                drawn = seen[key] = self._bar(i, w, most)
            parts.append(drawn[0])
            if drawn[1]:
                points.append(drawn[1])
                dots.append(drawn[2])
        parts.append("\n")
        if points:
            parts.append(f'  <polyline points="{" ".join(points)}" fill="none" stroke="#c62828" stroke-width="1.2"/>\n')
        parts.append("  ")
        parts += dots
        parts.append("\n</svg>\n")
        return "".join(parts)

    def _bar(self, i: int, w: Week, most: int) -> tuple[str, str, str]:
        """Week ``i``'s bar, and its point and dot on the line ("" when no deadline fell due)."""
        cases = w.cases
        y, h = self._heights(cases, most)
        share = self._share(w.ack_met, w.ack_due)
        label = f"{self.labels[i]}{cases} case{'s' if cases != 1 else ''}{share[0]}"
        before, after = self.bars[i]
        bar = f'{before}{y}{after}{h}" fill="#9ecae1"><title>{label}</title></rect>'
        if not share[1]:
            return bar, "", ""
        cx = self.centres[i]
        return bar, f"{cx},{share[1]}", f'<circle cx="{cx}" cy="{share[1]}" r="1.6" fill="#c62828"><title>{label}</title></circle>'

    def _heights(self, cases: int, most: int) -> tuple[float, float]:
        found = self._seen_heights.get((cases, most))
        if found is None:
            h = self.inner * cases / most if most else 0.0
            found = self._seen_heights[(cases, most)] = (round(self.pad + self.inner - h, 1), round(h, 1))
        return found

    def _share(self, met: int, due: int) -> tuple[str, str]:
        """The label's end and the dot's height ("" when no deadline fell due)."""
        found = self._seen_shares.get((met, due))
        if found is None:
            share = Week(0, met, due).ack_in_time
            if share is None:
                found = ("", "")
            else:
                found = (f", {share:.0f}% acknowledged in time", str(round(self.pad + self.inner * (1 - share / 100), 1)))
            self._seen_shares[(met, due)] = found
        return found


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
