"""The rules for usernames and new passwords, and what a stored hash is."""

from __future__ import annotations

import pytest

from dashboard.passwords import check_password, hash_password, password_problem
from dashboard.users import AccountError, check_role, check_username


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("correct horse battery", None),
        ("ಕನ್ನಡ ಪಾಸ್‌ವರ್ಡ್ ಉದ್ದ", None),  # any script counts, letter by letter
        ("elevenchars", "the password must be at least 12 characters long"),
        (" " * 12, "the password cannot be only spaces"),
        ("ASHA-the-desk-2026", "the password must not contain the username"),
        ("x" * 1025, "the password must be at most 1024 characters long"),
    ],
)
def test_a_new_password_must_be_long_and_not_the_username(password: str, problem: str | None) -> None:
    assert password_problem(password, username="asha", min_length=12) == problem


def test_the_stored_hash_is_argon2_and_never_the_password() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct horse battery" not in stored
    assert check_password("correct horse battery", stored)[0] is True
    assert check_password("correct horse batterY", stored)[0] is False
    assert check_password("x" * 5000, stored)[0] is False


@pytest.mark.parametrize(
    ("username", "stored"),
    [("asha", "asha"), ("  Asha.K  ", "asha.k"), ("desk_2", "desk_2"), ("l1-a", "l1-a")],
)
def test_usernames_are_stored_lowercase_and_trimmed(username: str, stored: str) -> None:
    assert check_username(username) == stored


@pytest.mark.parametrize("username", ["a", "a b", "-asha", "asha@police", "<script>", "x" * 65, "ಕನ್ನಡ"])
def test_a_username_is_a_short_plain_name(username: str) -> None:
    with pytest.raises(AccountError, match="cannot be a username"):
        check_username(username)


@pytest.mark.parametrize(
    ("role", "officer_id", "unit_id", "message"),
    [
        ("inspector", None, None, "unknown role 'inspector': choose one of commissioner, supervisor, officer, desk"),
        ("officer", None, "s1", "an officer's account needs --officer ID"),
        ("supervisor", "ACP-1", None, "a supervisor's account needs --unit ID"),
    ],
)
def test_a_role_needs_what_it_is_shown_by(role: str, officer_id: str | None, unit_id: str | None, message: str) -> None:
    with pytest.raises(AccountError, match=message.replace("(", r"\(")):
        check_role(role, officer_id=officer_id, unit_id=unit_id)
