"""Password hashing (argon2 through pwdlib) and the rules a new password must meet."""

from __future__ import annotations

import threading
from functools import cache

from pwdlib import PasswordHash

MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a megabyte "password" is only a way to burn CPU
_HASHER = PasswordHash.recommended()
# Each check costs ~140 ms of both cores' time: a burst of sign-ins waits its turn instead of starving
# every other request of CPU.
_CHECKS_AT_ONCE = threading.BoundedSemaphore(2)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a new hash when the stored one uses older parameters."""
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # still pay for one verification, so the answer takes as long as any other
    with _CHECKS_AT_ONCE:
        is_valid, new_hash = _HASHER.verify_and_update(password, password_hash)
    return is_valid, new_hash


def check_nobody(password: str) -> None:
    """Spend what a real check costs, for a user who does not exist, is disabled or is locked: the
    answer must not come back sooner and tell an attacker which usernames are real."""
    check_password(password, _dummy_hash())


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("not anybody's password: only here to be checked against")


def password_problem(password: str, *, username: str, min_length: int) -> str | None:
    """Why the password cannot be used, or None."""
    if len(password) < min_length:
        return f"the password must be at least {min_length} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must be at most {MAX_PASSWORD_LENGTH} characters long"
    if password.strip() == "":
        return "the password cannot be only spaces"
    if username and username.lower() in password.lower():
        return "the password must not contain the username"
    return None
