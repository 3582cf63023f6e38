"""Graph API error bodies and usage headers (``x-app-usage``, ``x-business-use-case-usage``)."""

from __future__ import annotations

import itertools
import json
import math
from datetime import datetime, timedelta

from sandbox.ids import fbtrace_id
from sandbox.ratelimit import Usage
from sandbox.wire import Reply, json_reply

_trace_seed = itertools.count(1)


def graph_error(message: str, *, code: int, type_: str = "OAuthException", status: int = 400,
                subcode: int | None = None, is_transient: bool | None = None) -> Reply:
    error: dict[str, object] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    error["fbtrace_id"] = fbtrace_id(next(_trace_seed))
    return json_reply(status, {"error": error})


def missing_token() -> Reply:
    return graph_error("An access token is required to request this resource.", code=104)


def expired_token(now: datetime) -> Reply:
    expired_at = now - timedelta(hours=1)
    return graph_error(
        "Error validating access token: Session has expired on "
        f"{expired_at:%A, %d-%b-%y %H:%M:%S} UTC. The current time is {now:%A, %d-%b-%y %H:%M:%S} UTC.",
        code=190, subcode=463,
    )


def unknown_object(object_id: str, method: str) -> Reply:
    return graph_error(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        code=100, subcode=33, type_="GraphMethodException",
    )


def unknown_path(path: str) -> Reply:
    return graph_error(f"Unknown path components: {path}", code=2500)


def throttled() -> Reply:
    return graph_error("(#32) Page request limit reached", code=32, is_transient=True)


def server_error(status: int) -> Reply:
    if status >= 500 and status != 500:
        return graph_error("(#2) Service temporarily unavailable", code=2, status=status, is_transient=True)
    if status == 500:
        return graph_error("An unknown error has occurred.", code=1, status=500, is_transient=True)
    return graph_error("(#100) Invalid parameter", code=100, status=status)


def usage_headers(usage: Usage, page_id: str, now_s: float) -> dict[str, str]:
    """Graph reports usage as percentages of the budget; regain time in minutes once it is spent."""
    percent = usage.used_percent
    share = {"call_count": percent, "total_cputime": percent // 4, "total_time": percent // 3}
    regain_min = 0 if usage.is_allowed and usage.remaining > 0 else math.ceil((usage.reset_at_s - now_s) / 60)
    business = {page_id: [{"type": "pages", **share, "estimated_time_to_regain_access": max(regain_min, 0)}]}
    return {
        "x-app-usage": json.dumps(share, separators=(",", ":")),
        "x-business-use-case-usage": json.dumps(business, separators=(",", ":")),
    }
