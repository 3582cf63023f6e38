"""The desk's triage: the cases the bot could not place, was unsure of, or could not answer or notify about,
each with what the desk can do about it.

``/triage`` lists them (for the desk, supervisors and the commissioner; a supervisor sees their stations'
cases). Per case, a POST form (with the CSRF token) for each action: correct the category or the place (the
case goes back to routing and moves to the new station; the correction is kept for training), merge it into
another docket, or reject it as spam. After an action, a 303 back to the list saying what was done; a refused
action is the list again with the reason beside the case and what was typed kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from dashboard.access import may_open, may_see, stations_of
from dashboard.pages import DONE as FINISHED
from dashboard.pages import triage_reasons
from dashboard.sessions import Viewer
from dashboard.triage_actions import TriageActions
from dashboard.web import Web
from models.cases import list_cases
from models.db import session_scope
from models.lifecycle import MANAGERS, Actor, CaseState, IllegalTransition, allowed_actions
from models.taxonomy import Category

PAGE = "/triage"
CATEGORIES = tuple((c.value, c.value.replace("_", " ")) for c in Category)
SPAM = "spam"
MAX_PLACE_CHARS = 200
_DOCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
DONE = {
    "correct": "{docket} corrected: routing places it again on its next cycle, at the station of its new place.",
    "merge": "{docket} merged: its reporters get the other case's replies.",
    "spam": "{docket} rejected as spam: nothing is posted to its author.",
}

Run = Callable[[TriageActions, str, datetime], object]


def triage_routes(web: Web, actions: TriageActions | None) -> APIRouter:
    """``actions``: what the forms call; None shows the list without forms."""
    router = APIRouter()

    def visible(viewer: Viewer, **narrowed: Any) -> list[dict[str, Any]]:
        """The cases the viewer may see, among those ``narrowed`` (``list_cases``' filters) selects."""
        stations = stations_of(viewer, web.units_under)
        with session_scope(web.engine) as session:
            return [case for case in list_cases(session, **narrowed) if may_see(viewer, case, stations)]

    def page(
        request: Request,
        viewer: Viewer,
        *,
        status: int = 200,
        notice: str | None = None,
        error: dict[str, str] | None = None,
    ) -> Response:
        cases = [(c, reasons, offered(c)) for c in visible(viewer, not_statuses=FINISHED) if (reasons := triage_reasons(c))]
        context = {
            "cases": cases,
            "categories": CATEGORIES,
            "cannot_act": _why_not(actions, viewer),  # None: the forms are shown
            "notice": notice,
            "error": error,
        }
        return web.render(request, "triage.html", context, status)

    @router.get(PAGE)
    def triage(request: Request, done: str = "", docket: str = "") -> Response:
        viewer = web.require(request, PAGE)
        notice = None
        if done in DONE and _DOCKET.fullmatch(docket) and visible(viewer, dockets=[docket]):
            notice = DONE[done].format(docket=docket)
        return page(request, viewer, notice=notice)

    def perform(request: Request, docket: str, kind: str, run: Run, **typed: str) -> Response:
        viewer = web.viewer(request)
        if viewer is None:  # back to the list after signing in, not to this POST's address
            return RedirectResponse(f"/login?next={PAGE}", status_code=303)
        if not may_open(viewer.role, PAGE):
            raise HTTPException(403, f"The triage page is not for the {viewer.role} role.")
        if not visible(viewer, dockets=[docket]):
            raise HTTPException(404, "No such case.")
        if actions is None or viewer.officer_id is None:
            status = 503 if actions is None else 403
            return page(request, viewer, status=status, error=_error(docket, kind, _why_not(actions, viewer), typed))
        try:
            run(actions, viewer.officer_id, web.clock())
        except IllegalTransition as exc:
            return page(request, viewer, status=409, error=_error(docket, kind, str(exc), typed))
        except LookupError as exc:
            raise HTTPException(404, "No such case.") from exc
        return RedirectResponse(f"{PAGE}?done={kind}&docket={docket}", status_code=303)

    @router.post("/triage/{docket}/correct")
    def correct(
        request: Request,
        docket: str,
        category: Annotated[str, Form(max_length=32)] = "",
        place: Annotated[str, Form(max_length=MAX_PLACE_CHARS)] = "",
    ) -> Response:
        def run(a: TriageActions, officer_id: str, now: datetime) -> object:
            return a.correct(docket, officer_id=officer_id, category=category or None, place=place or None, now=now)

        return perform(request, docket, "correct", run, category=category, place=place)

    @router.post("/triage/{docket}/merge")
    def merge(request: Request, docket: str, into: Annotated[str, Form(max_length=32)] = "") -> Response:
        into = into.strip()  # none: the lifecycle says a merge needs the docket it joins

        def run(a: TriageActions, officer_id: str, now: datetime) -> object:
            return a.merge(docket, officer_id=officer_id, into=into, now=now)

        return perform(request, docket, "merge", run, into=into)

    @router.post("/triage/{docket}/spam")
    def spam(request: Request, docket: str) -> Response:
        def run(a: TriageActions, officer_id: str, now: datetime) -> object:
            return a.reject(docket, officer_id=officer_id, reason=SPAM, now=now)

        return perform(request, docket, "spam", run)

    return router


def offered(case: dict[str, Any]) -> frozenset[str]:
    """The forms the case's status allows the desk (the actions still check who asks)."""
    if not case["docket"]:
        return frozenset()
    desk = Actor("desk", MANAGERS)
    return frozenset(k.value for k in allowed_actions(CaseState(case["docket"], case["status"]), desk))


def _why_not(actions: TriageActions | None, viewer: Viewer) -> str | None:
    """Why this viewer sees no forms, or None when they may act."""
    if actions is None:
        return "This dashboard cannot act on cases right now."
    if viewer.officer_id is None:
        return f"Your account ({viewer.username}) is not linked to an officer, so it cannot act on cases."
    return None


def _error(docket: str, kind: str, message: str | None, typed: dict[str, str]) -> dict[str, str]:
    return {"docket": docket, "kind": kind, "message": message or "That was refused.", **typed}
