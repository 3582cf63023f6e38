"""The sandbox's configuration shapes: platform accounts, rate budgets, release schedule, city."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO_SCENARIO_PATH = Path(__file__).resolve().parent.parent / "data" / "scenarios" / "bengaluru_demo.jsonl"


@dataclass(frozen=True)
class XAccount:
    """An X account the bot reads mentions of and replies from.

    ``access_token`` (optional) ties a token to the account: ``/2/users/me`` and ``POST /2/tweets``
    then answer for the account whose token signed the request (OAuth 1.0a ``oauth_token`` or the
    Bearer token). Without a matching token they answer for the first account (or, for a reply,
    the account the parent post addressed).
    """

    user_id: str
    username: str
    name: str = ""
    access_token: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.username


@dataclass(frozen=True)
class FacebookPage:
    """A Facebook page the bot reads comments and tagged posts of; ``access_token`` works as for X."""

    page_id: str
    name: str
    access_token: str | None = None


@dataclass(frozen=True)
class RateBudget:
    """``limit`` requests per fixed ``window_s`` window, counted per endpoint and token (X) or page (Graph)."""

    limit: int
    window_s: float


@dataclass(frozen=True)
class AutoRelease:
    """Make ``initial`` posts visible at start, then ``batch`` more every ``every_s`` seconds."""

    every_s: float
    batch: int = 1
    initial: int = 0


@dataclass(frozen=True)
class GeoCity:
    """The city X names as the place of a geotagged post that carries no place name of its own."""

    name: str
    country: str
    country_code: str
    bbox: tuple[float, float, float, float]  # west, south, east, north


BENGALURU = GeoCity("Bengaluru", "India", "IN", (77.4601, 12.8340, 77.7840, 13.1436))

# Budget keys: X per endpoint ("x.<endpoint>"), Graph per page ("facebook"). X's per-user limits
# (X API v2 rate-limit table): POST /2/tweets 100 and GET /2/users/:id/tweets 900 per 15 minutes.
DEFAULT_RATE_LIMITS: dict[str, RateBudget] = {
    "x.users_me": RateBudget(75, 900.0),
    "x.users_by_username": RateBudget(300, 900.0),
    "x.mentions": RateBudget(450, 900.0),
    "x.tweets_lookup": RateBudget(300, 900.0),
    "x.search_recent": RateBudget(450, 900.0),
    "x.create_tweet": RateBudget(100, 900.0),
    "x.user_tweets": RateBudget(900, 900.0),
    "facebook": RateBudget(4800, 3600.0),
}

DEMO_X_ACCOUNTS: tuple[XAccount, ...] = (
    XAccount(user_id="1021737162349010945", username="blrcitytraffic", name="Bengaluru Traffic Police"),
    XAccount(user_id="1011905472466219008", username="BlrCityPolice", name="Bengaluru City Police"),
)
DEMO_FACEBOOK_PAGES: tuple[FacebookPage, ...] = (
    FacebookPage(page_id="104735829586723", name="Bengaluru City Police"),
)
