"""Putting the dashboard together: ``create_app`` given the engine, the people's chain of command and the
officer actions, for ``run.py dashboard`` and the demo. The dashboard imports none of the stages: what it
needs of them is handed in here."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from assembly.errors import StartupError
from assembly.settings import Settings
from dashboard.access import UnitsUnder
from dashboard.app import create_app
from models.secret import Secret
from models.stage import Clock, utc_now
from monitor.followup.actions import CaseActions
from routing.people import Organisation

SECRET_HINT = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


def units_under(organisation: Organisation) -> UnitsUnder:
    """unit → the stations (and offices) whose chain of command passes through it."""

    @cache
    def under(unit_id: str) -> Collection[str]:
        units = [*organisation.stations, *organisation.offices]
        return frozenset(u for u in units if unit_id in organisation.chain(u)[1:])

    return under


def make_dashboard(
    settings: Settings,
    engine: Engine,
    organisation: Organisation,
    *,
    secret_key: Secret | None = None,
    clock: Clock = utc_now,
    actions: CaseActions | None = None,
) -> FastAPI:
    """The dashboard app; StartupError when no signing secret is set (or it is too short)."""
    key = secret_key or settings.dashboard.secret_key
    if key is None:
        name = settings.dashboard.secret_key_env
        raise StartupError("dashboard", [f"environment variable {name} is not set: the dashboard signs its forms with it ({SECRET_HINT})"])
    return create_app(
        engine,
        secret_key=key,
        settings=settings.dashboard.web,
        units_under=units_under(organisation),
        clock=clock,
        actions=actions,
        triage=actions,  # the desk's corrections, merges and spam go through the same officer actions
        timezone=settings.tz,
    )
