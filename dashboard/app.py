"""The dashboard as an ASGI app: ``create_app(engine, secret_key=...)`` is everything ``run.py dashboard``
and the tests serve. Everything it needs is handed in: the engine, the settings, the signing secret, the
chain of units (which stations are under a supervisor's unit) and the clock."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboard.access import UnitsUnder
from dashboard.actions import CaseActionsLike
from dashboard.auth import Authenticator
from dashboard.case_pages import CasePages, case_routes
from dashboard.leaderboard import Directory, Rules
from dashboard.leaderboard_pages import leaderboard_routes
from dashboard.links import DEFAULT_MAX_AGE, link_routes
from dashboard.pages import page_routes
from dashboard.security import CsrfGuard, FetchSiteGuard, SecurityHeaders
from dashboard.sessions import SessionStore
from dashboard.settings import DashboardSettings
from dashboard.signin import signin_routes
from dashboard.triage_actions import TriageActions
from dashboard.triage_pages import triage_routes
from dashboard.web import SignInRequired, Web, make_templates
from models.secret import Secret
from models.stage import Clock, utc_now

STATIC_DIR = Path(__file__).parent / "static"
MIN_SECRET_LENGTH = 32


def only_itself(unit_id: str) -> Collection[str]:
    """Until the organisation's chain is handed in, a supervisor's unit contains only itself."""
    return {unit_id}


def create_app(
    engine: Engine,
    *,
    secret_key: Secret,
    settings: DashboardSettings | None = None,
    units_under: UnitsUnder = only_itself,
    clock: Clock = utc_now,
    triage: TriageActions | None = None,
    actions: CaseActionsLike | None = None,
    timezone: ZoneInfo | None = None,
    link_max_age: timedelta = DEFAULT_MAX_AGE,
    directory: Directory | None = None,  # the leaderboard's names, areas and station boundaries
    leaderboard_rules: Rules | None = None,
) -> FastAPI:
    """The dashboard on ``engine`` (migrated). ``secret_key`` signs the CSRF tokens and the links in officers'
    messages: every process that serves the same dashboard must get the same one, or a form rendered by one
    is refused by another. ``actions`` are the officer actions (None: cases are shown without buttons);
    ``timezone`` is the deployment's, for deadlines (None: UTC); a signed link works for ``link_max_age``."""
    if len(secret_key.reveal()) < MIN_SECRET_LENGTH:
        raise ValueError(f"the dashboard's secret key must be at least {MIN_SECRET_LENGTH} characters")
    settings = settings or DashboardSettings()
    sessions = SessionStore(engine, settings, clock)
    web = Web(
        engine=engine,
        settings=settings,
        sessions=sessions,
        auth=Authenticator(engine, sessions, settings, clock),
        templates=make_templates(),
        units_under=units_under,
        clock=clock,
    )
    app = FastAPI(title="Police desk dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = web
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(signin_routes(web))
    app.include_router(page_routes(web))
    app.include_router(leaderboard_routes(web, directory or Directory(), leaderboard_rules or Rules(), timezone))
    app.include_router(triage_routes(web, triage))  # the desk's corrections, merges and spam (None: no forms)
    cases = CasePages(web, actions, timezone or ZoneInfo("UTC"))
    app.include_router(case_routes(web, cases, secret_key=secret_key))
    app.include_router(link_routes(web, cases, secret_key=secret_key, actions=actions, max_age=link_max_age))

    @app.exception_handler(SignInRequired)
    def sign_in_first(request: Request, exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Something went wrong."
        if request.url.path.endswith(".json"):
            return JSONResponse({"error": message}, status_code=exc.status_code)
        context = {"status": exc.status_code, "message": _message(exc.status_code, message)}
        return web.render(request, "error.html", context, status=exc.status_code)

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return web.render(request, "error.html", {"status": 400, "message": "That request was not understood."}, 400)

    # Outermost last: headers on every answer (refusals too), then the Sec-Fetch-Site and CSRF checks.
    app.add_middleware(CsrfGuard, signing_secret=secret_key.reveal(), secure_cookies=settings.secure_cookies)
    app.add_middleware(FetchSiteGuard)
    app.add_middleware(SecurityHeaders)
    return app


def _message(status: int, detail: str) -> str:
    if status == 404:
        return "There is no such page, or it is not yours to see."
    if status == 405:
        return "That page cannot be used that way."
    return detail


def _quote(target: str) -> str:
    return quote(target, safe="/")
