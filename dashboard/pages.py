"""The signed-in pages: health (and /health.json for monitoring); the queue and a case are in
``case_pages.py``, the leaderboard in ``leaderboard_pages.py``, the desk's triage in ``triage_pages.py``
(the cases :func:`triage_reasons` picks).

A case the viewer may not see is a 404, the same answer as a docket that does not exist, so a URL tells nobody
which dockets are real.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dashboard.access import landing
from dashboard.health import read_health
from dashboard.web import Web
from models.db import session_scope

DONE = frozenset({"closed", "rejected", "merged"})
LOW_CONFIDENCE = 0.5


def page_routes(web: Web) -> APIRouter:
    router = APIRouter()

    @router.get("/")
    def home(request: Request) -> Response:
        viewer = web.viewer(request)
        return RedirectResponse(landing(viewer.role) if viewer else "/login", status_code=303)

    @router.get("/health")
    def health_page(request: Request) -> Response:
        web.require(request, "/health")
        with session_scope(web.engine) as session:
            health = read_health(session, now=web.clock())
        return web.render(request, "health.html", {"health": health})

    @router.get("/health.json")
    def health_json() -> Response:
        with session_scope(web.engine) as session:
            health = read_health(session, now=web.clock())
        return JSONResponse(health.public())

    return router


def triage_reasons(case: Mapping[str, Any]) -> list[str]:
    """Why the desk should look at the case; empty when it needs nothing from the desk."""
    if case["status"] in DONE:
        return []
    reasons = []
    if case["station"] is None:
        reasons.append("no station")
    if case["confidence"] < LOW_CONFIDENCE:
        reasons.append(f"low confidence ({case['confidence']:.2f})")
    if any(a["role"] == "desk" and a["status"] == "open" for a in case["assignments"]):
        reasons.append("at the desk")
    if case["notifications"].get("failed"):
        reasons.append("notification failed")
    if any(r.get("status") in ("failed", "not_allowed") for r in case.get("replies", [])):
        reasons.append("reply failed or not allowed")
    return reasons
