"""Delivery through Apprise: one narrow seam, ``Sender.send(url, subject, body) -> bool``."""

from __future__ import annotations

import logging
from typing import Protocol

import apprise

logger = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, url: str, subject: str, body: str) -> bool:
        """True when the service accepted the message. Never raises for a refused or unreachable service."""
        ...


class AppriseSender:
    """Sends through Apprise; one ``Apprise`` object per URL, built on first use and kept."""

    def __init__(self) -> None:
        self._clients: dict[str, apprise.Apprise] = {}

    def send(self, url: str, subject: str, body: str) -> bool:
        client = self._clients.get(url)
        if client is None:
            client = apprise.Apprise()
            if not client.add(url):
                # the URL itself is never logged: it may hold a token
                logger.warning("apprise rejected a %s:// address as malformed", scheme_of(url))
                return False
            self._clients[url] = client
        return bool(client.notify(body=body, title=subject))


def scheme_of(url: str) -> str:
    """The part of an Apprise URL that is safe to log."""
    return url.split("://", 1)[0] if "://" in url else "?"
