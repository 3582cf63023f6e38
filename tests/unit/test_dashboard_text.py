"""How platform text and times read on the dashboard's pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dashboard.web import inert, make_templates, when


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("invoice\u202egnp.exe\u202c attached", "invoice[RLO]gnp.exe[PDF] attached"),
        ("\u2067مرحبا\u2069 @blrcitypolice", "[RLI]مرحبا[PDI] @blrcitypolice"),
        ("ಸಿಗ್ನಲ್ ಜಂಪ್‌ ಮಾಡಿದ್ದಾರೆ", "ಸಿಗ್ನಲ್ ಜಂಪ್‌ ಮಾಡಿದ್ದಾರೆ"),  # the zero-width non-joiner is Kannada spelling
        ("שלום\u200f!", "שלום\u200f!"),  # a right-to-left mark only nudges punctuation
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # HTML is autoescape's job, on every page
        (None, ""),
    ],
)
def test_direction_tricks_in_a_post_are_shown_by_name(text: str | None, shown: str) -> None:
    assert inert(text) == shown


def test_every_template_escapes_what_it_is_given() -> None:
    page = make_templates().env.from_string("<p>{{ text | inert }}</p>").render(text="<b onclick=x>hi</b>")
    assert page == "<p>&lt;b onclick=x&gt;hi&lt;/b&gt;</p>"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (datetime(2026, 12, 3, 14, 5, 59, tzinfo=UTC), "2026-12-03 14:05 UTC"),
        ("2026-12-03T19:35:00+05:30", "2026-12-03 14:05 UTC"),
        (datetime(2026, 12, 3, 19, 35, tzinfo=timezone(timedelta(hours=5, minutes=30))), "2026-12-03 14:05 UTC"),
        (None, "—"),
    ],
)
def test_times_read_in_utc(value: datetime | str | None, shown: str) -> None:
    assert when(value) == shown
