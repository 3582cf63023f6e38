"""How the notify stage sends: retries, backoff, the crash window, the dashboard's address, a redirect."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

REDIRECT_PLACEHOLDERS = frozenset({"{officer}"})


@dataclass(frozen=True)
class NotifySettings:
    max_attempts: int = 6  # then the message is failed and the desk is told
    backoff_initial_s: float = 30.0  # the wait after the first failure; doubles per failure
    backoff_max_s: float = 1800.0
    sending_timeout_s: float = 300.0  # a row left "sending" this long was interrupted by a crash
    batch_size: int = 100
    concurrency: int = 1  # sends in flight at once, each claimed on its own (PostgreSQL; SQLite: always 1)
    dashboard_base_url: str = "http://127.0.0.1:8000"
    # every message goes to this Apprise URL instead of the officer's own (the demo's local receiver);
    # "{officer}" in it becomes the officer's id, so the receiver still knows whom each message was for
    redirect_url: str | None = None


def redirect_target(template: str, officer_id: str) -> str:
    """``redirect_url`` for one officer: ``{officer}`` replaced by the id, quoted for a URL path."""
    return template.replace("{officer}", quote(officer_id, safe=""))
