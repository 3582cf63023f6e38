"""Signed links, pure: what a link says comes back only from a link this dashboard signed, within its age;
a changed, forged or cut-short link is refused, and however a valid link is spelt its use is one use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.links import DEFAULT_MAX_AGE, LinkExpired, LinkInvalid, link_for, read_link, sign_link
from models.secret import Secret

SECRET = Secret("a test signing secret that is long enough")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_a_link_says_which_case_which_officer_and_what_for() -> None:
    claims = read_link(SECRET, sign_link(SECRET, "BLR-2026-000123", "L1-A", now=NOW), now=NOW + timedelta(hours=1))
    assert (claims.docket, claims.officer_id, claims.purpose, claims.issued_at) == (
        "BLR-2026-000123",
        "L1-A",
        "acknowledge",
        NOW,
    )


def test_link_for_puts_the_token_under_the_dashboards_address() -> None:
    url = link_for(SECRET, "http://127.0.0.1:8000/", "BLR-2026-000123", "L1-A", now=NOW)
    assert url.startswith("http://127.0.0.1:8000/l/") and "//l/" not in url
    token = url.rsplit("/", 1)[1]
    assert read_link(SECRET, token, now=NOW).docket == "BLR-2026-000123"
    assert len(url) < 200  # it goes into SMS and WhatsApp messages


def test_each_link_is_its_own_use_even_for_the_same_case_and_officer() -> None:
    first, second = (read_link(SECRET, sign_link(SECRET, "BLR-2026-000123", "L1-A", now=NOW), now=NOW) for _ in "ab")
    assert first.use_key != second.use_key


@pytest.mark.parametrize(
    ("age", "is_valid"),
    [
        (timedelta(0), True),
        (DEFAULT_MAX_AGE - timedelta(seconds=1), True),
        (DEFAULT_MAX_AGE + timedelta(seconds=1), False),
    ],
)
def test_a_link_expires_after_72_hours(age: timedelta, is_valid: bool) -> None:
    token = sign_link(SECRET, "BLR-2026-000123", "L1-A", now=NOW)
    if is_valid:
        assert read_link(SECRET, token, now=NOW + age).docket == "BLR-2026-000123"
    else:
        with pytest.raises(LinkExpired) as expired:
            read_link(SECRET, token, now=NOW + age)
        assert expired.value.issued_at == NOW


def test_the_age_is_the_one_handed_in() -> None:
    token = sign_link(SECRET, "BLR-2026-000123", "L1-A", now=NOW)
    with pytest.raises(LinkExpired):
        read_link(SECRET, token, now=NOW + timedelta(hours=2), max_age=timedelta(hours=1))


def altered(token: str) -> list[str]:
    """The token with one letter changed in its payload, its time and its signature, cut short, and padded."""
    payload_at, stamp_at = 2, token.index(".", 1) + 1
    flip = {i: ("A" if token[i] != "A" else "B") for i in (payload_at, stamp_at)}
    return [
        *(token[:i] + letter + token[i + 1 :] for i, letter in flip.items()),
        token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:],
        token[:-3],
        token + "x" * 500,
        "",
        "not-a-link",
    ]


def test_a_changed_forged_or_cut_short_link_is_refused() -> None:
    token = sign_link(SECRET, "BLR-2026-000123", "L1-A", now=NOW)
    for changed in altered(token):
        with pytest.raises(LinkInvalid):
            read_link(SECRET, changed, now=NOW)
    forged = sign_link(Secret("another dashboard's secret, long enough too"), "BLR-2026-000123", "L1-A", now=NOW)
    with pytest.raises(LinkInvalid):
        read_link(SECRET, forged, now=NOW)


def test_a_link_spelt_another_way_is_still_the_same_use() -> None:
    """The signature's last base64 letter has spare bits: several spellings verify. They are one link."""
    token = sign_link(SECRET, "BLR-2026-000123", "L1-A", now=NOW)
    spellings = [token[:-1] + letter for letter in ALPHABET]
    valid = []
    for spelling in spellings:
        try:
            valid.append(read_link(SECRET, spelling, now=NOW))
        except LinkInvalid:
            continue
    assert len(valid) > 1  # the reason use is keyed by what the link says, not by its text
    assert {claims.use_key for claims in valid} == {read_link(SECRET, token, now=NOW).use_key}


def test_only_known_purposes_are_signed() -> None:
    with pytest.raises(ValueError, match="purpose"):
        sign_link(SECRET, "BLR-2026-000123", "L1-A", now=NOW, purpose="close")
