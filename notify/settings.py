"""The ``[notify]`` section: retries, backoff, the crash window and the dashboard's address."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

REDIRECT_PLACEHOLDERS = frozenset({"{officer}"})
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class NotifySettings:
    max_attempts: int = 6  # then the message is failed and the desk is told
    backoff_initial_s: float = 30.0  # the wait after the first failure; doubles per failure
    backoff_max_s: float = 1800.0
    sending_timeout_s: float = 300.0  # a row left "sending" this long was interrupted by a crash
    batch_size: int = 100
    dashboard_base_url: str = "http://127.0.0.1:8000"
    # every message goes to this Apprise URL instead of the officer's own (the demo's local receiver);
    # "{officer}" in it becomes the officer's id, so the receiver still knows whom each message was for
    redirect_url: str | None = None


def redirect_target(template: str, officer_id: str) -> str:
    """``redirect_url`` for one officer: ``{officer}`` replaced by the id, quoted for a URL path."""
    return template.replace("{officer}", quote(officer_id, safe=""))


def parse_notify(raw: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[NotifySettings, list[str]]:
    """The settings and every problem found; ``NOTIFY_REDIRECT_URL`` in the environment wins."""
    table = raw.get("notify", {})
    problems: list[str] = []
    if not isinstance(table, dict):
        return NotifySettings(), ["[notify] must be a table"]
    defaults = NotifySettings()
    values: dict[str, Any] = {}
    for name, kind in (
        ("max_attempts", int),
        ("backoff_initial_s", float),
        ("backoff_max_s", float),
        ("sending_timeout_s", float),
        ("batch_size", int),
    ):
        value = table.get(name, getattr(defaults, name))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) or value <= 0:
            problems.append(f"notify.{name} must be a positive {kind.__name__}, got {value!r}")
            continue
        values[name] = value
    for name in ("dashboard_base_url", "redirect_url"):
        value = table.get(name, getattr(defaults, name))
        if value is not None and not isinstance(value, str):
            problems.append(f"notify.{name} must be a string, got {value!r}")
            continue
        values[name] = (value or None) if name == "redirect_url" else value
    if environ.get("NOTIFY_REDIRECT_URL"):
        values["redirect_url"] = environ["NOTIFY_REDIRECT_URL"]
    unknown = sorted(set(_PLACEHOLDER.findall(values.get("redirect_url") or "")) - REDIRECT_PLACEHOLDERS)
    if unknown:
        problems.append(
            f"notify.redirect_url has unknown placeholder(s) {', '.join(unknown)} (only {{officer}} is filled in)"
        )
    if values.get("backoff_max_s", 1.0) < values.get("backoff_initial_s", 0.0):
        problems.append("notify.backoff_max_s must not be less than notify.backoff_initial_s")
    return NotifySettings(**values), problems
