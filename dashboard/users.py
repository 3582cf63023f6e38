"""Managing dashboard accounts (behind ``run.py user``): checks what is asked, hashes, writes, audits.

Every function raises :class:`AccountError` with a message for the person at the keyboard when the request
cannot be done (unknown role, a user that exists or does not, a weak password); nothing is written then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from dashboard.auth import normalise_username
from dashboard.passwords import hash_password, password_problem
from models import users as store
from models.db import session_scope
from models.users import ROLES, DashboardUser, UserExists

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
DEFAULT_MIN_PASSWORD = 12


class AccountError(ValueError):
    """The request cannot be done; the message says why."""


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    officer_id: str | None
    unit_id: str | None
    state: str  # active / disabled / locked until ...
    created_at: datetime
    last_signin_at: datetime | None


def add_user(
    engine: Engine,
    *,
    username: str,
    role: str,
    password: str,
    now: datetime,
    officer_id: str | None = None,
    unit_id: str | None = None,
    min_password_length: int = DEFAULT_MIN_PASSWORD,
) -> None:
    name = check_username(username)
    check_role(role, officer_id=officer_id, unit_id=unit_id)
    check_password(password, username=name, min_length=min_password_length)
    password_hash = hash_password(password)
    with session_scope(engine) as session:
        try:
            store.add_user(
                session,
                username=name,
                role=role,
                password_hash=password_hash,
                now=now,
                officer_id=officer_id,
                unit_id=unit_id,
            )
        except UserExists:
            raise AccountError(f"there is already a user {name!r}") from None


def list_users(engine: Engine, *, now: datetime) -> list[UserRow]:
    with session_scope(engine) as session:
        last = store.last_signins(session)
        return [
            UserRow(u.username, u.role, u.officer_id, u.unit_id, _state(u, now), u.created_at, last.get(u.id or -1))
            for u in store.list_users(session)
        ]


def set_disabled(engine: Engine, *, username: str, is_disabled: bool, now: datetime) -> None:
    """Disabling ends the user's sessions at once."""
    with session_scope(engine) as session:
        store.set_disabled(session, user=_existing(session, username), is_disabled=is_disabled, now=now)


def set_role(
    engine: Engine, *, username: str, role: str, officer_id: str | None, unit_id: str | None, now: datetime
) -> None:
    """A new role (and officer and unit) ends the user's sessions: they sign in again to get it."""
    check_role(role, officer_id=officer_id, unit_id=unit_id)
    with session_scope(engine) as session:
        store.set_role(
            session, user=_existing(session, username), role=role, officer_id=officer_id, unit_id=unit_id, now=now
        )


def reset_password(
    engine: Engine, *, username: str, password: str, now: datetime, min_password_length: int = DEFAULT_MIN_PASSWORD
) -> None:
    """A new password ends the user's sessions and lifts a lock-out."""
    name = normalise_username(username)
    check_password(password, username=name, min_length=min_password_length)
    with session_scope(engine) as session:
        _existing(session, name)  # a mistyped name is told before the slow hash
    password_hash = hash_password(password)
    with session_scope(engine) as session:
        store.set_password(session, user=_existing(session, name), password_hash=password_hash, now=now)


def check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME.fullmatch(name):
        raise AccountError(
            f"{username!r} cannot be a username: use 2 to 64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str, *, officer_id: str | None, unit_id: str | None) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if role == "officer" and not officer_id:
        raise AccountError("an officer's account needs --officer ID (the officer id in the roster)")
    if role == "supervisor" and not unit_id:
        raise AccountError("a supervisor's account needs --unit ID (the unit whose stations they oversee)")


def check_password(password: str, *, username: str, min_length: int) -> None:
    problem = password_problem(password, username=username, min_length=min_length)
    if problem is not None:
        raise AccountError(problem)


def _existing(session: Session, username: str) -> DashboardUser:
    user = store.find_user(session, username=normalise_username(username))
    if user is None:
        raise AccountError(f"there is no user {normalise_username(username)!r}")
    return user


def _state(user: DashboardUser, now: datetime) -> str:
    if user.is_disabled:
        return "disabled"
    if store.is_locked(user, now):
        assert user.locked_until is not None
        return f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
    return "active"
