"""Server-side sessions: the cookie holds a random id, the database holds its hash and whether it still lives.

A cookie-signed session (Starlette's ``SessionMiddleware``) is accepted again after sign-out if someone
kept a copy of it; here sign-out, lock-out and account changes end the row, and a kept copy is worthless.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from starlette.responses import Response

from dashboard.settings import DashboardSettings
from models.db import session_scope
from models.stage import Clock
from models.users import live_session, open_session, revoke_session, touch_session

COOKIE = "dashboard_session"
_TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute per session


@dataclass(frozen=True)
class Viewer:
    """Who is signed in on this request."""

    user_id: int
    username: str
    role: str
    officer_id: str | None
    unit_id: str | None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine, settings: DashboardSettings, clock: Clock) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock

    def open(self, user_id: int, *, client_ip: str | None, user_agent: str | None) -> str:
        """A new session for the user; the token to put in the cookie."""
        token = new_token()
        now = self._clock()
        with session_scope(self._engine) as session:
            open_session(
                session,
                user_id=user_id,
                token_hash=token_hash(token),
                now=now,
                expires_at=now + self._settings.session_max,
                client_ip=client_ip,
                user_agent=user_agent_summary(user_agent),
            )
        return token

    def viewer(self, token: str | None) -> Viewer | None:
        """Who the token belongs to, if its session still lives."""
        if not token or len(token) > 100:
            return None
        now = self._clock()
        with session_scope(self._engine) as session:
            found = live_session(
                session, token_hash=token_hash(token), now=now, idle_since=now - self._settings.session_idle
            )
            if found is None:
                return None
            row, user = found
            if now - row.last_seen_at >= _TOUCH_EVERY:
                assert row.id is not None
                touch_session(session, session_id=row.id, now=now)
            assert user.id is not None
            return Viewer(user.id, user.username, user.role, user.officer_id, user.unit_id)

    def close(self, token: str | None, *, reason: str = "signout") -> int | None:
        """End the token's session; the user id it belonged to, or None when it was not live."""
        if not token or len(token) > 100:
            return None
        with session_scope(self._engine) as session:
            return revoke_session(session, token_hash=token_hash(token), now=self._clock(), reason=reason)

    def set_cookie(self, response: Response, token: str, *, is_https: bool) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(self._settings.session_max.total_seconds()),
            path="/",
            secure=is_https,
            httponly=True,
            samesite="lax",
        )

    def clear_cookie(self, response: Response, *, is_https: bool) -> None:
        response.delete_cookie(COOKIE, path="/", secure=is_https, httponly=True, samesite="lax")


def user_agent_summary(user_agent: str | None) -> str | None:
    """The browser and system in a few words ("Chrome 156 on Linux"), enough to recognise a session."""
    if not user_agent:
        return None
    browser = next((name for name in ("Edg", "Firefox", "Chrome", "Safari") if f"{name}/" in user_agent), None)
    system = next(
        (name for name in ("Android", "iPhone", "iPad", "Windows", "Mac OS X", "Linux") if name in user_agent), None
    )
    if browser is None:
        return user_agent[:60]
    version = user_agent.split(f"{browser}/", 1)[1].split(".", 1)[0].split(" ", 1)[0]
    label = {"Edg": "Edge"}.get(browser, browser)
    return f"{label} {version}" + (f" on {system}" if system else "")
