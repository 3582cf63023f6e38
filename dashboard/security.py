"""What every response and every form gets: security headers, the CSRF token check, the Sec-Fetch-Site check.

CSRF is asgi-csrf's double-submit token (a signed cookie and the same value in a hidden ``csrftoken``
field, or an ``x-csrftoken`` header for htmx). Two of its defaults do not suit a site with a sign-in
form, and are changed here: it lets through any POST that carries no cookie at all (that is how a
login-CSRF arrives, so every path is protected), and its cookie is Secure or not for the whole app (so
one wrapper per scheme, chosen per request, unless the settings say which).
"""

from __future__ import annotations

import html
import logging
from typing import Any

from asgi_csrf import Errors, asgi_csrf
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# img-src allows data: for the icons Pico draws as inline SVG (checkboxes, the select arrow).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}
REFUSED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refused</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/pico-2.1.1.min.css"></head>
<body><main class="container"><h1>This form was refused</h1><p>{reason}</p>
<p><a href="/">Back to the dashboard</a></p></main></body></html>"""


def is_https(scope: Scope, secure_cookies: bool | None) -> bool:
    return secure_cookies if secure_cookies is not None else scope.get("scheme") == "https"


class SecurityHeaders:
    """Adds the security headers to every response, and ``Cache-Control: no-store`` to all but static
    files, so that after sign-out the browser's back button shows nothing of what was on screen."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not is_static:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FetchSiteGuard:
    """Refuses a form or request that changes something when the browser says it came from another site
    (``Sec-Fetch-Site: cross-site`` or ``same-site``). Clients that send no such header (scripts, old
    browsers) are left to the CSRF token."""

    ALLOWED = frozenset({"same-origin", "none"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            site = _header(scope, b"sec-fetch-site")
            if site is not None and site not in self.ALLOWED:
                logger.warning("refused %s %s from another site (%s)", scope["method"], scope["path"], site)
                await _refuse(send, "It was sent from another web site. Open the dashboard and try again from there.")
                return
        await self.app(scope, receive, send)


class CsrfGuard:
    """asgi-csrf on every path, its cookie Secure on HTTPS."""

    def __init__(self, app: ASGIApp, *, signing_secret: str, secure_cookies: bool | None = None) -> None:
        self.secure_cookies = secure_cookies
        common: dict[str, Any] = {
            "signing_secret": signing_secret,
            "always_protect": _EveryPath(),
            "cookie_samesite": "Lax",
            "send_csrf_failed": _csrf_failed,
        }
        self._over_https = asgi_csrf(app, cookie_secure=True, **common)
        self._over_http = asgi_csrf(app, cookie_secure=False, **common)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._over_http(scope, receive, send)
        elif is_https(scope, self.secure_cookies):
            await self._over_https(scope, receive, send)
        else:
            await self._over_http(scope, receive, send)


class _EveryPath:
    """asgi-csrf's ``always_protect`` takes a set of paths; this one holds them all."""

    def __contains__(self, path: object) -> bool:
        return True


async def _csrf_failed(scope: Scope, send: Send, message_id: Errors) -> None:
    logger.warning("refused %s %s: CSRF token missing or wrong (%s)", scope["method"], scope["path"], message_id.name)
    await _refuse(
        send,
        "It did not carry this browser's form token: the page was too old or came from elsewhere. "
        "Go back, reload the page and send it again.",
    )


async def _refuse(send: Send, reason: str) -> None:
    body = REFUSED_PAGE.format(reason=html.escape(reason)).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1").strip().lower()
    return None
