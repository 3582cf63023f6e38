"""Pointing a real client library's ``requests.Session`` at another host (the sandbox).

tweepy fixes the API host inside ``Client.request`` but exposes ``client.session``; mounting
:class:`RedirectAdapter` there sends every call to ``base_url`` while the library builds, signs and
parses requests exactly as it does against the live API.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

DEFAULT_TIMEOUT_S = 20.0


class RedirectAdapter(HTTPAdapter):
    """Rewrites scheme and host of every request to ``base_url`` and applies a default timeout."""

    def __init__(self, base_url: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__()
        self._target = urlsplit(base_url) if base_url else None
        self._timeout_s = timeout_s

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        if self._target is not None and request.url:
            parts = urlsplit(request.url)
            prefix = self._target.path.rstrip("/")
            request.url = urlunsplit(
                (self._target.scheme, self._target.netloc, prefix + parts.path, parts.query, parts.fragment)
            )
        if timeout is None:
            timeout = self._timeout_s
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


def point_session_at(session: requests.Session, base_url: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Send every request of ``session`` to ``base_url`` (None keeps the real host), with a timeout."""
    adapter = RedirectAdapter(base_url, timeout_s=timeout_s)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
