"""Putting the dashboard together: ``create_app`` given the engine, the people's chain of command and the
officer actions, for ``run.py dashboard`` and the demo. The dashboard imports none of the stages: what it
needs of them is handed in here."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from assembly.dashboard_data import leaderboard_inputs
from assembly.errors import StartupError
from assembly.settings import Settings
from dashboard.access import UnitsUnder
from dashboard.app import create_app
from dashboard.leaderboard import Rules
from models.secret import Secret
from models.stage import Clock, utc_now
from monitor.followup.actions import CaseActions
from routing.jurisdictions import Jurisdictions
from routing.people import Organisation

SECRET_HINT = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


def units_under(organisation: Organisation) -> UnitsUnder:
    """unit → the stations (and offices) whose chain of command passes through it."""

    @cache
    def under(unit_id: str) -> Collection[str]:
        units = [*organisation.stations, *organisation.offices]
        return frozenset(u for u in units if unit_id in organisation.chain(u)[1:])

    return under


def leaderboard_rules(settings: Settings) -> Rules:
    """Resolved only when no reopen came within the citizen's reopen window."""
    return Rules(resolved_after_days=settings.followup.reopen_window_days)


def make_dashboard(
    settings: Settings,
    engine: Engine,
    organisation: Organisation,
    *,
    secret_key: Secret | None = None,
    clock: Clock = utc_now,
    actions: CaseActions | None = None,
    jurisdictions: Jurisdictions | None = None,
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
        directory=leaderboard_inputs(organisation, jurisdictions) if jurisdictions is not None else None,
        leaderboard_rules=leaderboard_rules(settings),
    )
