"""What the dashboard is told at start-up (the assembly reads it from config and hands it in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class DashboardSettings:
    max_failures: int = 5  # failed sign-ins in a row before the account is locked
    lockout_min: float = 15.0
    session_idle_min: float = 120.0  # a session nobody used for this long has ended
    session_max_h: float = 12.0  # and none lives longer than this (a shift), used or not
    secure_cookies: bool | None = None  # None: Secure when the request came over HTTPS
    min_password_length: int = 12

    @property
    def lockout(self) -> timedelta:
        return timedelta(minutes=self.lockout_min)

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_min)

    @property
    def session_max(self) -> timedelta:
        return timedelta(hours=self.session_max_h)
