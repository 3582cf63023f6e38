"""The leaderboard rows' sparklines: the bars and the line of ``trend`` (the chart's geometry), drawn as one
path, a line and dots, with one title saying the row's weeks."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest

from dashboard.leaderboard import Week
from dashboard.leaderboard_html import Sparkline
from dashboard.svg import trend


def bars_of(markup: str) -> list[tuple[float, float, float, float]]:
    """The bars' (x, y, width, height) from the bars' path."""
    found = re.search(r'<path d="([^"]*)" fill="#9ecae1"/>', markup)
    if found is None:
        return []
    return [(float(x), float(y), float(w), float(h)) for x, y, w, h, _ in re.findall(r"M([\d.]+) ([\d.]+)h([\d.]+)v([\d.]+)h-([\d.]+)z", found[1])]


@pytest.mark.parametrize("count", [1, 2, 5, 53])
def test_the_sparkline_draws_the_trend_s_bars_and_line(count: int) -> None:
    rng = random.Random(count)
    starts = [date(2026, 1, 1) + timedelta(days=7 * i) for i in range(count)]
    draw = Sparkline(starts)
    for _ in range(20):
        weeks = []
        for _ in range(count):
            due = rng.choice((0, 0, 1, 3, 7, 40))
            weeks.append(Week(rng.choice((0, 1, 2, 9, 133)), rng.randint(0, due), due))
        expected = trend([(d, w.cases, w.ack_in_time) for d, w in zip(starts, weeks, strict=True)])
        markup = draw(weeks)
        assert bars_of(markup) == [(b.x, b.y, b.width, b.height) for b in expected.bars if b.height > 0]
        line = re.search(r'<polyline points="([^"]*)"', markup)
        assert (line[1] if line else "") == expected.line
        assert markup.count("h3.2v3.2h-3.2z") == len(expected.dots)
        cases, met, due = (sum(w[i] for w in weeks) for i in range(3))
        title = re.findall(r"<title>([^<]*)</title>", markup)
        assert len(title) == 1 and f": {cases} case" in title[0] and f"{count} week" in title[0]
        if due:
            assert title[0].endswith(f", {100 * met / due:.0f}% acknowledged in time")
        else:
            assert "acknowledged" not in title[0]
