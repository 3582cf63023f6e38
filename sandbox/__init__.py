"""A local server that speaks the X API v2 and Graph API wire formats, seeded from a scenario file:
the demo's platforms and the tests' platforms."""

from sandbox.config import (
    BENGALURU,
    DEFAULT_RATE_LIMITS,
    DEMO_FACEBOOK_PAGES,
    DEMO_SCENARIO_PATH,
    DEMO_X_ACCOUNTS,
    AutoRelease,
    FacebookPage,
    GeoCity,
    RateBudget,
    XAccount,
)
from sandbox.faults import FaultSpec
from sandbox.posts import StoredPost
from sandbox.scenario import ScenarioError, ScenarioPost, load_scenario, parse_scenario
from sandbox.server import SandboxServer
from sandbox.state import ReceivedReply, SandboxState

__all__ = [
    "BENGALURU",
    "DEFAULT_RATE_LIMITS",
    "DEMO_FACEBOOK_PAGES",
    "DEMO_SCENARIO_PATH",
    "DEMO_X_ACCOUNTS",
    "AutoRelease",
    "FacebookPage",
    "FaultSpec",
    "GeoCity",
    "RateBudget",
    "ReceivedReply",
    "SandboxServer",
    "SandboxState",
    "ScenarioError",
    "ScenarioPost",
    "StoredPost",
    "XAccount",
    "load_scenario",
    "parse_scenario",
]
