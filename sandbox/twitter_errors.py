"""X API v2 error bodies and rate-limit headers."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sandbox.ratelimit import Usage
from sandbox.wire import Reply, json_reply

PROBLEMS = "https://api.twitter.com/2/problems/"
STATUS_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


def rate_headers(usage: Usage) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(usage.limit),
        "x-rate-limit-remaining": str(max(usage.remaining, 0)),
        "x-rate-limit-reset": str(math.ceil(usage.reset_at_s)),  # never before the budget is back
    }


def problem(status: int, detail: str | None = None, title: str | None = None) -> Reply:
    """The plain problem body X sends for 401, 403, 429 and 5xx."""
    title = title or STATUS_TITLES.get(status, "Error")
    return json_reply(status, {"title": title, "detail": detail or title, "type": "about:blank",
                               "status": status})


def unauthorized() -> Reply:
    return problem(401, "Unauthorized")


def too_many_requests(usage: Usage) -> Reply:
    return problem(429, "Too Many Requests").with_headers(rate_headers(usage))


def invalid_request(errors: Sequence[tuple[str, str, str]]) -> Reply:
    """400 for bad parameters; each error is (parameter, value, message)."""
    return json_reply(400, {
        "errors": [{"parameters": {name: [value]}, "message": message} for name, value, message in errors],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": PROBLEMS + "invalid-request",
    })


def not_found_error(resource_type: str, parameter: str, value: str) -> dict[str, str]:
    """An entry of ``errors`` for a missing user or tweet (the response itself is 200)."""
    label = "user" if resource_type == "user" else "Tweet"
    return {
        "value": value, "detail": f"Could not find {label} with {parameter}: [{value}].",
        "title": "Not Found Error", "resource_type": resource_type, "parameter": parameter,
        "resource_id": value, "type": PROBLEMS + "resource-not-found",
    }
