"""What every route needs: who is signed in, what their role may open, and rendering a page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from dashboard.access import UnitsUnder, may_open, nav
from dashboard.auth import Authenticator, Client
from dashboard.security import is_https
from dashboard.sessions import COOKIE, SessionStore, Viewer
from dashboard.settings import DashboardSettings
from models.stage import Clock

TEMPLATES_DIR = Path(__file__).parent / "templates"
_UNKNOWN = object()


class SignInRequired(Exception):
    """The page needs a signed-in user; answered with a redirect to /login."""


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name: post text is data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["inert"] = inert
    return Jinja2Templates(env=env)


# Explicit direction embeddings, overrides and isolates: inside a post they can make "gnp.exe" read as
# "exe.png". Shown by name instead, so the text reads as it was written. The plain marks (LRM, RLM, ALM)
# stay: they only nudge neutral characters, and Arabic or Hebrew text uses them.
DIRECTION_CONTROLS = {
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
}
_DIRECTION_CONTROL = re.compile(f"[{''.join(DIRECTION_CONTROLS)}]")


def inert(text: str | None) -> str:
    """Platform text as it was written: direction controls shown as ``[RLO]`` (autoescape does the HTML)."""
    if not text:
        return ""
    return _DIRECTION_CONTROL.sub(lambda m: f"[{DIRECTION_CONTROLS[m.group()]}]", text)


def when(value: datetime | str | None) -> str:
    """A time as people read it on this dashboard: ``2026-12-03 14:05 UTC``."""
    if value is None or value == "":
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Web:
    engine: Engine
    settings: DashboardSettings
    sessions: SessionStore
    auth: Authenticator
    templates: Jinja2Templates
    units_under: UnitsUnder
    clock: Clock

    def viewer(self, request: Request) -> Viewer | None:
        found = getattr(request.state, "viewer", _UNKNOWN)  # looked up once per request
        if found is _UNKNOWN:
            found = request.state.viewer = self.sessions.viewer(request.cookies.get(COOKIE))
        assert found is None or isinstance(found, Viewer)
        return found

    def require(self, request: Request, page: str | None = None) -> Viewer:
        """The signed-in viewer, allowed to open ``page``; else a redirect to sign in, or 403."""
        viewer = self.viewer(request)
        if viewer is None:
            raise SignInRequired
        if page is not None and not may_open(viewer.role, page):
            raise HTTPException(403, f"The {page.strip('/')} page is not for the {viewer.role} role.")
        return viewer

    def is_https(self, request: Request) -> bool:
        return is_https(request.scope, self.settings.secure_cookies)

    def client(self, request: Request) -> Client:
        return Client(ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent"))

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
        viewer = self.viewer(request)
        token = request.scope.get("csrftoken")
        values = {
            "viewer": viewer,
            "nav": nav(viewer.role) if viewer else [],
            "csrftoken": token() if callable(token) else "",
            "path": request.url.path,
            **(context or {}),
        }
        return self.templates.TemplateResponse(request, name, values, status_code=status)
