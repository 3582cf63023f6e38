"""What platform I/O is configured with: the accounts to poll and how to poll them.

Frozen, typed shapes; the assembly's settings module (``assembly.settings``) reads them out of
``config.toml`` and the environment and checks them. Secrets are :class:`Secret` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.secret import Secret

Platform = Literal["x", "facebook"]


@dataclass(frozen=True)
class XAccount:
    key: str  # the handle, e.g. "blrcitytraffic"
    user_id: str
    bearer_token: Secret
    # OAuth 1.0a user context, needed to post replies; absent → read-only account
    consumer_key: Secret | None = None
    consumer_secret: Secret | None = None
    access_token: Secret | None = None
    access_token_secret: Secret | None = None
    api_base_url: str | None = None  # None → the live API

    platform: Platform = "x"

    @property
    def label(self) -> str:
        return f"x @{self.key}"


@dataclass(frozen=True)
class FacebookPage:
    key: str  # the page id
    name: str
    page_token: Secret
    app_secret: Secret | None = None
    graph_version: str = "v21.0"
    lookback_days: int = 7
    api_base_url: str | None = None

    platform: Platform = "facebook"

    @property
    def label(self) -> str:
        return f"facebook {self.name}"


Account = XAccount | FacebookPage


@dataclass(frozen=True)
class PollingSettings:
    interval_s: float = 60.0
    max_results: int = 100
    request_timeout_s: float = 20.0
    backoff_initial_s: float = 5.0
    backoff_max_s: float = 900.0
    auth_retry_s: float = 900.0
    stage_interval_s: float = 5.0  # how long an idle stage waits before it looks again (a busy one goes on)
