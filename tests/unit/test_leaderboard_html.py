"""The leaderboard's rows written in Python are the markup the template's macros made."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import jinja2
import pytest

from dashboard.leaderboard import Week
from dashboard.leaderboard_html import Sparkline
from dashboard.svg import trend

SPARK_MACRO = """{% macro spark(t) %}
<svg width="{{ t.width }}" height="{{ t.height }}" viewBox="0 0 {{ t.width }} {{ t.height }}" role="img" aria-label="cases per week and % acknowledged in time">
  {% for b in t.bars %}<rect x="{{ b.x }}" y="{{ b.y }}" width="{{ b.width }}" height="{{ b.height }}" fill="#9ecae1"><title>{{ b.title }}</title></rect>{% endfor %}
  {% if t.line %}<polyline points="{{ t.line }}" fill="none" stroke="#c62828" stroke-width="1.2"/>{% endif %}
  {% for x, y, title in t.dots %}<circle cx="{{ x }}" cy="{{ y }}" r="1.6" fill="#c62828"><title>{{ title }}</title></circle>{% endfor %}
</svg>
{% endmacro %}{{ spark(t) }}"""
ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


@pytest.mark.parametrize("count", [1, 2, 5, 53])
def test_the_sparkline_is_the_macro_s(count: int) -> None:
    rng = random.Random(count)
    starts = [date(2026, 1, 1) + timedelta(days=7 * i) for i in range(count)]
    draw = Sparkline(starts)
    for _ in range(20):
        weeks = []
        for _ in range(count):
            due = rng.choice((0, 0, 1, 3, 7, 40))
            weeks.append(Week(rng.choice((0, 1, 2, 9, 133)), rng.randint(0, due), due))
        expected = ENV.from_string(SPARK_MACRO).render(t=trend([(d, w.cases, w.ack_in_time) for d, w in zip(starts, weeks, strict=True)]))
        assert tags(draw(weeks)) == tags(expected)


def tags(markup: str) -> str:
    """The markup without the whitespace between tags (which SVG ignores)."""
    return re.sub(r">\s+<", "><", markup.strip())
