"""/login and /logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dashboard.access import landing, safe_next
from dashboard.auth import Outcome
from dashboard.sessions import COOKIE
from dashboard.web import Web, when


def signin_routes(web: Web) -> APIRouter:
    router = APIRouter()

    @router.get("/login")
    def login_form(request: Request, next: str | None = None) -> Response:
        viewer = web.viewer(request)
        if viewer is not None:
            return RedirectResponse(safe_next(next) or landing(viewer.role), status_code=303)
        notice = "You are signed out." if request.query_params.get("signed_out") else None
        return web.render(request, "login.html", {"next": safe_next(next) or "", "error": None, "notice": notice})

    @router.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=1000)] = "",
        password: Annotated[str, Form(max_length=10_000)] = "",
        next: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        result = web.auth.sign_in(username, password, web.client(request))
        target = safe_next(next)
        if result.outcome is Outcome.SIGNED_IN:
            assert result.token is not None and result.viewer is not None
            web.sessions.close(request.cookies.get(COOKIE), reason="replaced")  # one browser, one session
            response = RedirectResponse(target or landing(result.viewer.role), status_code=303)
            web.sessions.set_cookie(response, result.token, is_https=web.is_https(request))
            return response
        if result.outcome is Outcome.LOCKED:
            error = (
                "Too many failed sign-ins: this account is locked until "
                f"{when(result.locked_until)}. Try again then, or ask an administrator to reset the password."
            )
            status = 429
        else:
            error = "Wrong username or password."
            status = 401
        context = {"next": target or "", "error": error, "notice": None, "username": username.strip()[:64]}
        return web.render(request, "login.html", context, status=status)

    @router.post("/logout")
    def logout(request: Request) -> Response:
        web.auth.sign_out(request.cookies.get(COOKIE), web.client(request))
        response = RedirectResponse("/login?signed_out=1", status_code=303)
        web.sessions.clear_cookie(response, is_https=web.is_https(request))
        return response

    return router
