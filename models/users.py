"""Dashboard accounts and their server-side sessions, and the queries the dashboard and ``run.py user`` use.

A session row is what a sign-in cookie stands for: the cookie carries a random id, the row only its
SHA-256 (a copy of the table lets nobody sign in). A session ends when its row says so (``revoked_at``,
``expires_at``, or idle since ``last_seen_at``), so signing out, a role change, disabling an account,
resetting its password and locking it out take effect at once in every process.

Failed sign-ins are counted on the user row with one atomic UPDATE per attempt, taken *before* the
password is checked (see :func:`begin_attempt`): processes and threads that race each other still get no
more than ``max_failures`` guesses between two lock-outs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from models.tables import AuditEvent, utcnow
from models.types import UTCDateTime

ROLES = ("commissioner", "supervisor", "officer", "desk")


class DashboardUser(SQLModel, table=True):
    """Someone who signs in to the dashboard; ``officer_id`` and ``unit_id`` name them in the organisation."""

    __tablename__ = "dashboard_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)  # one of ROLES
    officer_id: str | None = Field(default=None, max_length=32)
    unit_id: str | None = Field(default=None, max_length=64)
    password_hash: str = Field(max_length=255)  # argon2, as pwdlib writes it
    is_disabled: bool = False
    failed_attempts: int = 0  # since the last sign-in or lock-out
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DashboardSession(SQLModel, table=True):
    """One sign-in: alive until revoked, expired, or idle too long."""

    __tablename__ = "dashboard_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex of the cookie's random id
    user_id: int = Field(foreign_key="dashboard_user.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=24)  # signout / role_changed / disabled / ...
    client_ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=120)  # a summary, not the whole header


class UserExists(ValueError):
    """A user with that username is already there."""


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt counted against the user before the password is checked."""

    user_id: int
    number: int  # this attempt's place since the last success or lock-out, from 1
    password_hash: str


def add_user(
    session: Session,
    *,
    username: str,
    role: str,
    password_hash: str,
    now: datetime,
    officer_id: str | None = None,
    unit_id: str | None = None,
    actor: str = "cli",
) -> DashboardUser:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if find_user(session, username=username) is not None:
        raise UserExists(username)
    user = DashboardUser(
        username=username,
        role=role,
        officer_id=officer_id,
        unit_id=unit_id,
        password_hash=password_hash,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # added by another process since the check above
        raise UserExists(username) from exc
    audit_user(session, "user.added", username, at=now, actor=actor, role=role, officer_id=officer_id, unit_id=unit_id)
    return user


def find_user(session: Session, *, username: str) -> DashboardUser | None:
    return session.exec(select(DashboardUser).where(DashboardUser.username == username)).first()


def list_users(session: Session) -> list[DashboardUser]:
    return list(session.exec(select(DashboardUser).order_by(col(DashboardUser.username))).all())


def last_signins(session: Session) -> dict[int, datetime]:
    """When each user last signed in (their newest session)."""
    statement = select(DashboardSession.user_id, sa.func.max(DashboardSession.created_at)).group_by(
        col(DashboardSession.user_id)
    )
    return {user_id: at for user_id, at in session.exec(statement).all() if at is not None}


def set_disabled(
    session: Session, *, user: DashboardUser, is_disabled: bool, now: datetime, actor: str = "cli"
) -> None:
    user.is_disabled = is_disabled
    session.add(user)
    if is_disabled:
        revoke_sessions(session, user_id=_id(user), now=now, reason="disabled")
    audit_user(session, "user.disabled" if is_disabled else "user.enabled", user.username, at=now, actor=actor)


def set_role(
    session: Session,
    *,
    user: DashboardUser,
    role: str,
    officer_id: str | None,
    unit_id: str | None,
    now: datetime,
    actor: str = "cli",
) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    before = (user.role, user.officer_id, user.unit_id)
    user.role, user.officer_id, user.unit_id = role, officer_id, unit_id
    session.add(user)
    revoke_sessions(session, user_id=_id(user), now=now, reason="role_changed")
    audit_user(
        session,
        "user.role_changed",
        user.username,
        at=now,
        actor=actor,
        before=list(before),
        role=role,
        officer_id=officer_id,
        unit_id=unit_id,
    )


def set_password(
    session: Session, *, user: DashboardUser, password_hash: str, now: datetime, actor: str = "cli"
) -> None:
    """A new password: every session ends and any lock-out is lifted."""
    user.password_hash, user.password_changed_at = password_hash, now
    user.failed_attempts, user.locked_until = 0, None
    session.add(user)
    revoke_sessions(session, user_id=_id(user), now=now, reason="password_reset")
    audit_user(session, "user.password_reset", user.username, at=now, actor=actor)


def rehash_password(session: Session, *, user_id: int, password_hash: str) -> None:
    """The same password under newer hashing parameters (pwdlib's verify_and_update)."""
    session.execute(sa.update(_users()).where(_users().c.id == user_id).values(password_hash=password_hash))


# ---- sign-in attempts and lock-out -----------------------------------------------------------------------


def begin_attempt(session: Session, *, username: str, now: datetime) -> Attempt | None:
    """Count an attempt against an enabled, unlocked user and return it, or None (no such user, disabled,
    or locked). Commit before checking the password, so that concurrent attempts see the count."""
    users = _users()
    is_unlocked = sa.or_(users.c.locked_until.is_(None), users.c.locked_until <= now)
    statement = (
        sa.update(users)
        .where(users.c.username == username, users.c.is_disabled.is_(False), is_unlocked)
        .values(failed_attempts=users.c.failed_attempts + 1)
        .returning(users.c.id, users.c.failed_attempts, users.c.password_hash)
    )
    row = session.execute(statement).first()
    return None if row is None else Attempt(user_id=row[0], number=row[1], password_hash=row[2])


def succeed_attempt(session: Session, *, user_id: int) -> None:
    session.execute(sa.update(_users()).where(_users().c.id == user_id).values(failed_attempts=0))


def lock_user(session: Session, *, user_id: int, until: datetime, now: datetime) -> bool:
    """Lock the user until ``until`` and end their sessions; False when someone else locked them first."""
    users = _users()
    is_unlocked = sa.or_(users.c.locked_until.is_(None), users.c.locked_until <= now)
    result = session.execute(
        sa.update(users).where(users.c.id == user_id, is_unlocked).values(locked_until=until, failed_attempts=0)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return False
    revoke_sessions(session, user_id=user_id, now=now, reason="locked")
    return True


def is_locked(user: DashboardUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


# ---- sessions --------------------------------------------------------------------------------------------


def open_session(
    session: Session,
    *,
    user_id: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    client_ip: str | None,
    user_agent: str | None,
) -> None:
    session.add(
        DashboardSession(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            client_ip=client_ip[:64] if client_ip else None,
            user_agent=user_agent[:120] if user_agent else None,
        )
    )


def live_session(
    session: Session, *, token_hash: str, now: datetime, idle_since: datetime
) -> tuple[DashboardSession, DashboardUser] | None:
    """The session and its user, when the session is neither revoked, expired nor idle since before
    ``idle_since``, and the user is enabled and not locked."""
    statement = (
        select(DashboardSession, DashboardUser)
        .join(DashboardUser, col(DashboardUser.id) == col(DashboardSession.user_id))
        .where(
            DashboardSession.token_hash == token_hash,
            col(DashboardSession.revoked_at).is_(None),
            col(DashboardSession.expires_at) > now,
            col(DashboardSession.last_seen_at) > idle_since,
            col(DashboardUser.is_disabled).is_(False),
        )
    )
    found = session.exec(statement).first()
    if found is None or is_locked(found[1], now):
        return None
    return found[0], found[1]


def touch_session(session: Session, *, session_id: int, now: datetime) -> None:
    table = DashboardSession.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.id == session_id).values(last_seen_at=now))


def revoke_session(session: Session, *, token_hash: str, now: datetime, reason: str) -> int | None:
    """End one session; the user id it belonged to, or None when it was not live."""
    table = DashboardSession.__table__  # type: ignore[attr-defined]
    row = session.execute(
        sa.update(table)
        .where(table.c.token_hash == token_hash, table.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(table.c.user_id)
    ).first()
    return None if row is None else int(row[0])


def revoke_sessions(session: Session, *, user_id: int, now: datetime, reason: str) -> int:
    """End every live session of the user; how many there were."""
    table = DashboardSession.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.update(table)
        .where(table.c.user_id == user_id, table.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def audit_user(session: Session, kind: str, username: str, *, at: datetime, actor: str, **detail: Any) -> None:
    """An ``auth.*`` or ``user.*`` event on the audit trail, by ``actor`` (never with a password in it)."""
    session.add(AuditEvent(kind=kind, entity="user", entity_id=username[:64], actor=actor[:64], at=at, detail=detail))


def _users() -> sa.Table:
    return DashboardUser.__table__  # type: ignore[attr-defined,no-any-return]


def _id(user: DashboardUser) -> int:
    assert user.id is not None, "the user is stored"
    return user.id
