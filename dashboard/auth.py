"""Signing in: the password check, the lock-out counted in the database, and the audit trail.

Every attempt costs exactly one argon2 check, whether the username exists, is disabled or is locked, so
the time an answer takes tells nothing about the account. An attempt is counted (committed) *before* the
password is checked: many attempts fired at once, from one process or several, still get at most
``max_failures`` checks before the lock. Unknown usernames are not written to the audit trail: what is
typed into the username box is sometimes a password.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.engine import Engine

from dashboard.passwords import check_nobody, check_password
from dashboard.sessions import SessionStore, Viewer
from dashboard.settings import DashboardSettings
from models.db import session_scope
from models.stage import Clock
from models.users import (
    DashboardUser,
    audit_user,
    begin_attempt,
    find_user,
    is_locked,
    lock_user,
    rehash_password,
    succeed_attempt,
)

logger = logging.getLogger(__name__)
MAX_USERNAME_LENGTH = 64


class Outcome(StrEnum):
    SIGNED_IN = "signed_in"
    REFUSED = "refused"  # wrong password, unknown or disabled user: one answer for all three
    LOCKED = "locked"


@dataclass(frozen=True)
class SignIn:
    outcome: Outcome
    token: str | None = None  # for the cookie, when signed in
    viewer: Viewer | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Client:
    """Where an attempt came from, for the audit trail and the session list."""

    ip: str | None = None
    user_agent: str | None = None


def normalise_username(username: str) -> str:
    return username.strip().lower()


class Authenticator:
    def __init__(self, engine: Engine, sessions: SessionStore, settings: DashboardSettings, clock: Clock) -> None:
        self._engine = engine
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    def sign_in(self, username: str, password: str, client: Client) -> SignIn:
        username = normalise_username(username)
        if not username or len(username) > MAX_USERNAME_LENGTH:
            check_nobody(password)
            return self._refused_nobody(client)
        with session_scope(self._engine) as session:
            attempt = begin_attempt(session, username=username, now=self._clock())
        if attempt is None:
            check_nobody(password)
            return self._refused_without_attempt(username, client)
        if attempt.number > self._settings.max_failures:  # others got here first while the lock was written
            check_nobody(password)
            with session_scope(self._engine) as session:
                audit_user(
                    session, "auth.failed", username, at=self._clock(), actor=username, reason="locked", ip=client.ip
                )
            return self._lock(attempt.user_id, username, attempt.number, client)
        is_valid, new_hash = check_password(password, attempt.password_hash)
        now = self._clock()
        if not is_valid:
            with session_scope(self._engine) as session:
                audit_user(
                    session,
                    "auth.failed",
                    username,
                    at=now,
                    actor=username,
                    reason="wrong_password",
                    attempt=attempt.number,
                    ip=client.ip,
                )
            logger.info("sign-in refused for %s (attempt %d)", username, attempt.number)
            if attempt.number >= self._settings.max_failures:
                return self._lock(attempt.user_id, username, attempt.number, client)
            return SignIn(Outcome.REFUSED)
        with session_scope(self._engine) as session:
            succeed_attempt(session, user_id=attempt.user_id)
            if new_hash is not None:
                rehash_password(session, user_id=attempt.user_id, password_hash=new_hash)
            user = find_user(session, username=username)
            assert user is not None and user.id is not None
            viewer = Viewer(user.id, user.username, user.role, user.officer_id, user.unit_id)
            audit_user(session, "auth.signin", username, at=now, actor=username, ip=client.ip, role=user.role)
        token = self._sessions.open(attempt.user_id, client_ip=client.ip, user_agent=client.user_agent)
        logger.info("%s signed in as %s", username, viewer.role)
        return SignIn(Outcome.SIGNED_IN, token=token, viewer=viewer)

    def sign_out(self, token: str | None, client: Client) -> None:
        user_id = self._sessions.close(token)
        if user_id is None:
            return
        with session_scope(self._engine) as session:
            user = session.get(DashboardUser, user_id)
            if user is not None:
                audit_user(session, "auth.signout", user.username, at=self._clock(), actor=user.username, ip=client.ip)

    def _refused_without_attempt(self, username: str, client: Client) -> SignIn:
        """The user does not exist, is disabled, or is locked: no attempt was counted."""
        now = self._clock()
        with session_scope(self._engine) as session:
            user = find_user(session, username=username)
            if user is None:
                return self._refused_nobody(client)
            reason = "locked" if is_locked(user, now) else "disabled"
            audit_user(session, "auth.failed", username, at=now, actor=username, reason=reason, ip=client.ip)
        logger.info("sign-in refused for %s (%s)", username, reason)
        if reason == "locked":
            return SignIn(Outcome.LOCKED, locked_until=user.locked_until)
        return SignIn(Outcome.REFUSED)

    def _refused_nobody(self, client: Client) -> SignIn:
        with session_scope(self._engine) as session:
            audit_user(
                session,
                "auth.failed",
                "(unknown)",
                at=self._clock(),
                actor="anonymous",
                reason="unknown_user",
                ip=client.ip,
            )
        logger.info("sign-in refused for an unknown username")
        return SignIn(Outcome.REFUSED)

    def _lock(self, user_id: int, username: str, failures: int, client: Client) -> SignIn:
        now = self._clock()
        until = now + self._settings.lockout
        with session_scope(self._engine) as session:
            if lock_user(session, user_id=user_id, until=until, now=now):
                audit_user(
                    session,
                    "auth.locked",
                    username,
                    at=now,
                    actor=username,
                    failures=failures,
                    until=until.isoformat(),
                    ip=client.ip,
                )
                logger.warning("%s locked until %s after %d failed sign-ins", username, until.isoformat(), failures)
            else:
                user = find_user(session, username=username)
                until = user.locked_until if user is not None and user.locked_until is not None else until
        return SignIn(Outcome.LOCKED, locked_until=until)
