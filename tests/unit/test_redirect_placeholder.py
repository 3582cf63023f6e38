"""The redirect URL's ``{officer}`` placeholder and the receiver's reading of it back from the path."""

from __future__ import annotations

import pytest

from notify.settings import redirect_target
from sandbox.receiver import officer_of


@pytest.mark.parametrize(
    ("template", "officer_id", "url"),
    [
        ("json://127.0.0.1:8766/notify/{officer}", "BCP0123", "json://127.0.0.1:8766/notify/BCP0123"),
        ("json://127.0.0.1:8766/notify", "BCP0123", "json://127.0.0.1:8766/notify"),  # no placeholder: one path
        ("json://h:1/notify/{officer}", "KA/07 B", "json://h:1/notify/KA%2F07%20B"),  # never a second path segment
        ("json://h:1/notify/{officer}?x={officer}", "A1", "json://h:1/notify/A1?x=A1"),
        ("json://h:1/notify/{officer}", "ಅಧಿಕಾರಿ1", "json://h:1/notify/%E0%B2%85%E0%B2%A7%E0%B2%BF%E0%B2%95%E0%B2%BE%E0%B2%B0%E0%B2%BF1"),
    ],
)
def test_the_placeholder_becomes_the_officer_id(template: str, officer_id: str, url: str) -> None:
    assert redirect_target(template, officer_id) == url


@pytest.mark.parametrize(
    ("path", "officer"),
    [
        ("/notify/BCP0123", "BCP0123"),
        ("/notify/BCP0123/", "BCP0123"),
        ("/notify/BCP0123?format=json", "BCP0123"),
        ("/notify/KA%2F07%20B", "KA/07 B"),
        ("/notify", None),
        ("/notify/", None),
        ("/notifyBCP0123", None),
        ("/bench", None),
    ],
)
def test_the_receiver_reads_the_officer_back_from_the_path(path: str, officer: str | None) -> None:
    assert officer_of(path) == officer


@pytest.mark.parametrize("officer_id", ["BCP0123", "KA/07 B", "ಅಧಿಕಾರಿ1"])
def test_what_the_stage_fills_in_the_receiver_reads_back(officer_id: str) -> None:
    url = redirect_target("json://127.0.0.1:1/notify/{officer}", officer_id)
    assert officer_of(url.removeprefix("json://127.0.0.1:1")) == officer_id
