"""The ``[dashboard]`` section of the deployment's settings: where it listens, its signing secret, sessions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from dashboard.settings import DashboardSettings
from models.secret import Secret

MIN_SECRET = 32
SECRET_HINT = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


class _Dashboard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    secret_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "DASHBOARD_SECRET_KEY"
    max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    lockout_min: Annotated[float, Field(gt=0)] = 15.0
    session_idle_min: Annotated[float, Field(gt=0)] = 120.0
    session_max_h: Annotated[float, Field(gt=0)] = 12.0
    secure_cookies: bool | None = None
    min_password_length: Annotated[int, Field(ge=8, le=200)] = 12


@dataclass(frozen=True)
class DashboardSection:
    host: str
    port: int
    secret_key_env: str
    secret_key: Secret | None  # None: not set in the environment (only ``run.py dashboard`` needs it)
    web: DashboardSettings


def dashboard_section(section: _Dashboard, environ: Mapping[str, str]) -> DashboardSection:
    value = environ.get(section.secret_key_env, "").strip()
    web = DashboardSettings(
        max_failures=section.max_failures,
        lockout_min=section.lockout_min,
        session_idle_min=section.session_idle_min,
        session_max_h=section.session_max_h,
        secure_cookies=section.secure_cookies,
        min_password_length=section.min_password_length,
    )
    return DashboardSection(section.host, section.port, section.secret_key_env, Secret(value) if value else None, web)


def secret_problems(document: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """A secret that is set but too short is a problem for every command (it would be refused later)."""
    raw = document.get("dashboard")
    name = raw.get("secret_key_env", "DASHBOARD_SECRET_KEY") if isinstance(raw, dict) else "DASHBOARD_SECRET_KEY"
    value = environ.get(name, "").strip() if isinstance(name, str) else ""
    if value and len(value) < MIN_SECRET:
        return [f"dashboard.secret_key_env: {name} holds {len(value)} characters, at least {MIN_SECRET} ({SECRET_HINT})"]
    return []
